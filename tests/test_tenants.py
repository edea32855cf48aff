"""Many businesses on one deployment, end to end: ``python -m bot`` and real workers serving
the tenants of a TENANTS_FILE, each tenant with its own Telegram bot (its own Bot API
stand-in), its own WhatsApp number and its own backend, on a real redis-server.

- Each burst is answered once, by its tenant's backend, after its tenant's window.
- One person writing to two bots is two conversations (``tg:<bot id>:<user>``).
- A tenant added to the file is served, and one removed stops being served, without a
  restart; the removed tenant's pending batch is kept as a dead letter, not lost.
- A second bot added to a running one-bot deployment leaves that bot's pending batch,
  history and takeover as they were.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from batchctl.console import ConsoleSettings, serve
from batchctl.console_tenants import ConsoleTenants
from bot.settings import BotSettings
from bot.tenants import receiver_key
from channels.registry import ChannelSettings
from config.tenants import TENANT_SETTINGS, read_tenants
from sandbox.example_backend import BackendCall, ExampleBackend
from sandbox.launcher import ChildProcess
from sandbox.redis_server import RedisServer, free_port
from sandbox.telegram_api import Person, TelegramStandIn
from sandbox.whatsapp_api import WhatsAppStandIn
from sandbox.whatsapp_wire import WaPerson, delivery_json, text_json
from shared.dead_letters import DeadLetters
from shared.handoff import Handoffs
from shared.keys import ConversationKeys
from shared.models import Chat, IncomingMessage, MessageKind, User
from shared.rules import BatchingRules
from shared.store import BatchStore
from tests.conftest import Product, SettingsFactory, wait_until_idle

ANA = Person(id=8601, first_name="Ana")
WANDA = WaPerson(wa_id="16505550123", name="Wanda")
NUMBERS = {"bistro": "1001", "salon": "1002", "spa": "1003"}
WINDOWS = {"bistro": 0.4, "salon": 1.2, "spa": 0.4}
BOT_IDS = {"bistro": "111111", "salon": "222222", "spa": "333333"}
OPS_TOKEN = "ops-token-0123456789"


@dataclass
class Business:
    """A tenant as the test drives it: its bot's stand-in and its backend."""

    name: str
    telegram: TelegramStandIn
    backend: ExampleBackend

    @property
    def bot_conversation(self) -> str:
        return f"tg:{BOT_IDS[self.name]}:{ANA.id}"

    @property
    def whatsapp_conversation(self) -> str:
        return f"wa:{NUMBERS[self.name]}:{WANDA.wa_id}"

    def toml(self, whatsapp: WhatsAppStandIn, **extra: object) -> str:
        lines = [
            f"[tenants.{self.name}]",
            f'backend_url = "{self.backend.url}"',
            f"batch_window_seconds = {extra.pop('window', WINDOWS[self.name])}",
            f'telegram = [{{bot_token = "{self.telegram.token}", '
            f'api_url = "{self.telegram.url}"}}]',
            f'whatsapp = [{{phone_number_id = "{NUMBERS[self.name]}", '
            f'access_token = "{whatsapp.access_token}"}}]',
        ]
        lines += [f"{key} = {value!r}" for key, value in extra.items()]
        return "\n".join(lines) + "\n"


@dataclass
class Deployment:
    path: Path
    whatsapp: WhatsAppStandIn
    default_backend: ExampleBackend
    businesses: dict[str, Business] = field(default_factory=dict)
    bot: ChildProcess | None = None
    ops_url: str = ""

    async def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        """``POST /proactive`` or ``/handoff`` on the bot's ops port."""
        async with httpx.AsyncClient() as http:
            auth = {"Authorization": f"Bearer {OPS_TOKEN}"}
            return await http.post(f"{self.ops_url}/{path}", json=body, headers=auth)

    def write(self, *names: str, **extra: object) -> None:
        """The file with these tenants (rewritten whole, as an operator saves it)."""
        text = "".join(self.businesses[n].toml(self.whatsapp, **extra) for n in names)
        temporary = self.path.with_suffix(".new")
        temporary.write_text(text)
        temporary.replace(self.path)  # one change the watch sees whole

    async def reloaded(self, times: int, caplog: pytest.LogCaptureFixture) -> None:
        """Until the bot and the worker (in this process) have both read the file again."""
        assert self.bot is not None
        await self.bot.wait_for_log(b"tenants reloaded", timeout_seconds=30, count=times)
        async with asyncio.timeout(30):
            while sum("tenants reloaded" in r.message for r in caplog.records) < times:
                await asyncio.sleep(0.02)

    async def whatsapp_says(self, name: str, *texts: str) -> None:
        for text in texts:
            delivery = delivery_json((WANDA, text_json(WANDA, text)), phone_number_id=NUMBERS[name])
            assert await self.whatsapp.deliver(delivery) == 200


async def _business(name: str) -> Business:
    telegram = TelegramStandIn(token=f"{BOT_IDS[name]}:{name}-token")
    await telegram.start()
    backend = ExampleBackend()
    await backend.start()
    return Business(name, telegram, backend)


@pytest.fixture
async def deployment(
    tmp_path: Path, redis_server: RedisServer, redis: Redis, backend: ExampleBackend
) -> AsyncIterator[Deployment]:
    whatsapp = WhatsAppStandIn()
    await whatsapp.start()
    made = Deployment(tmp_path / "tenants.toml", whatsapp, backend)
    for name in NUMBERS:
        made.businesses[name] = await _business(name)
    yield made
    if made.bot is not None:
        code = await made.bot.stop()
        assert code == 0 and not made.bot.logged(b"Traceback"), made.bot.log_tail()
    for business in made.businesses.values():
        await business.telegram.stop()
        await business.backend.stop()
    await whatsapp.stop()


async def _start(
    deployment: Deployment,
    redis_server: RedisServer,
    product: Product,
    make_settings: SettingsFactory,
    caplog: pytest.LogCaptureFixture,
    telegram: TelegramStandIn | None = None,
    window: float = 0.5,
) -> None:
    """The bot process and one worker on the file (and ``telegram``, the environment's
    own bot, when given, with batches of ``window`` seconds)."""
    caplog.set_level(logging.INFO, "batchbot")
    port, ops_port = free_port(), free_port()
    deployment.ops_url = f"http://127.0.0.1:{ops_port}"
    deployment.whatsapp.webhook_url = f"http://127.0.0.1:{port}/webhook/whatsapp"
    env = {
        **os.environ,
        "REDIS_URL": redis_server.url,
        "TENANTS_FILE": str(deployment.path),
        "TENANTS_RELOAD_SECONDS": "0.2",
        "BOT_METRICS_PORT": str(ops_port),
        "PROACTIVE_TOKEN": OPS_TOKEN,
        "BATCH_WINDOW_SECONDS": str(window),
        "WHATSAPP_API_URL": deployment.whatsapp.api_url,
        "META_APP_SECRET": deployment.whatsapp.app_secret,
        "META_VERIFY_TOKEN": "verify-me",
        "META_LISTEN_HOST": "127.0.0.1",
        "META_LISTEN_PORT": str(port),
    }
    if telegram is not None:
        env |= {"BOT_TOKEN": telegram.token, "TELEGRAM_API_URL": telegram.url}
    deployment.bot = await ChildProcess.launch(
        [sys.executable, "-m", "bot"], env, b"Meta webhooks: listening"
    )
    settings = make_settings(
        tenants_file=deployment.path,
        tenants_reload_seconds=0.2,
        whatsapp_api_url=deployment.whatsapp.api_url,
        reply_pacing_max_seconds=0,
        history_turns=5,
        batch_window_seconds=window,
        **({} if telegram is not None else {"bot_token": None}),
    )
    await product.start_workers(settings)
    async with asyncio.timeout(30):  # the worker's start-up runs in this process's loop
        while not any("serving tenants" in r.message for r in caplog.records):
            await asyncio.sleep(0.02)


@pytest.fixture
async def two_tenants(
    deployment: Deployment,
    redis_server: RedisServer,
    product: Product,
    make_settings: SettingsFactory,
    caplog: pytest.LogCaptureFixture,
) -> Deployment:
    """Bistro and salon served by a bot process and a worker."""
    deployment.write("bistro", "salon")
    await _start(deployment, redis_server, product, make_settings, caplog)
    return deployment


async def test_two_tenants_each_burst_answered_once_by_its_own_backend_with_its_own_window(
    two_tenants: Deployment, redis: Redis
) -> None:
    deployment = two_tenants
    bistro, salon = deployment.businesses["bistro"], deployment.businesses["salon"]
    for business in (bistro, salon):
        await business.telegram.wait_for_poller()

    for business in (bistro, salon):  # the same person, the same chat id, two bots
        await business.telegram.person_says(ANA, "hi")
        await business.telegram.person_says(ANA, f"a table at the {business.name}?")
        await deployment.whatsapp_says(business.name, "hello", f"{business.name} tomorrow?")

    for business in (bistro, salon):
        await business.telegram.wait_for_messages(ANA.id, 1)
        await business.backend.wait_for_answered(2)
    await wait_until_idle(redis)
    await deployment.whatsapp.wait_for_messages(WANDA.wa_id, 2)

    for business in (bistro, salon):
        asked = {(c.request.channel.value, tuple(m.text for m in c.request.messages))
                 for c in business.backend.calls}  # fmt: skip
        assert asked == {
            ("telegram", ("hi", f"a table at the {business.name}?")),
            ("whatsapp", ("hello", f"{business.name} tomorrow?")),
        }
        assert len(business.telegram.messages_to(ANA.id)) == 1  # one answer, from its own bot
    assert deployment.default_backend.calls == []
    numbers = sorted(sent.phone_number_id for sent in deployment.whatsapp.sent)
    assert numbers == [NUMBERS["bistro"], NUMBERS["salon"]]  # each answered from its number
    for business in (bistro, salon):  # two conversations, each with its own history
        for conversation in (business.bot_conversation, business.whatsapp_conversation):
            assert await redis.llen(ConversationKeys(conversation).history) == 2  # type: ignore[misc]


async def test_proactive_messages_name_their_tenant_or_are_resolved_from_the_account(
    two_tenants: Deployment, redis: Redis
) -> None:
    deployment = two_tenants
    bistro, salon = deployment.businesses["bistro"], deployment.businesses["salon"]
    said = [{"text": "your table is ready"}]

    ambiguous = await deployment.post("proactive", {"chat_id": ANA.id, "messages": said})
    assert ambiguous.status_code == 400
    assert (
        "2 telegram accounts could write this; name one with bot_id or tenant"
        in (ambiguous.json()["error"])
    )
    by_bot = {"chat_id": ANA.id, "bot_id": BOT_IDS["bistro"], "messages": said}
    by_tenant = {"chat_id": ANA.id, "tenant": "salon", "messages": said}
    by_number = {"channel": "whatsapp", "wa_id": WANDA.wa_id, "phone_number_id": NUMBERS["salon"],
                 "messages": said}  # fmt: skip
    for body in (by_bot, by_tenant, by_number):
        assert (await deployment.post("proactive", body)).status_code == 202
    unknown = await deployment.post("proactive", {**by_tenant, "tenant": "nobody"})
    assert unknown.status_code == 400 and "no tenant 'nobody'" in unknown.json()["error"]

    assert await bistro.telegram.wait_for_messages(ANA.id, 1) == ["your table is ready"]
    assert await salon.telegram.wait_for_messages(ANA.id, 1) == ["your table is ready"]
    await deployment.whatsapp.wait_for_messages(WANDA.wa_id, 1)
    assert [s.phone_number_id for s in deployment.whatsapp.sent] == [NUMBERS["salon"]]

    await bistro.telegram.person_says(ANA, "thanks!")  # a conversation a human may take
    await bistro.telegram.wait_for_messages(ANA.id, 2)
    handed = await deployment.post("handoff", {"chat_id": ANA.id, "tenant": "bistro"})
    assert handed.status_code == 200, handed.text
    assert await redis.exists(ConversationKeys(bistro.bot_conversation).handoff)
    assert not await redis.exists(ConversationKeys(salon.bot_conversation).handoff)


async def test_each_tenants_window_sets_its_batches_deadline(
    two_tenants: Deployment, redis: Redis
) -> None:
    """The window each tenant's file entry sets is the one its batches wait (read from
    the pending batch itself, not from a clock)."""
    deployment = two_tenants
    for name in ("bistro", "salon"):
        business = deployment.businesses[name]
        await business.telegram.wait_for_poller()
        await business.telegram.person_says(ANA, "hi")
    waited = {}
    async with asyncio.timeout(30):
        for name in ("bistro", "salon"):
            key = ConversationKeys(deployment.businesses[name].bot_conversation).info
            while not (info := await redis.hgetall(key)) or b"deadline" not in info:  # type: ignore[misc]
                await asyncio.sleep(0.01)
            waited[name] = int(info[b"deadline"]) - int(info[b"first_at"])
    assert waited == {"bistro": 400, "salon": 1200}
    await wait_until_idle(redis)


async def test_a_tenant_added_then_removed_at_run_time_is_served_then_dead_lettered(
    deployment: Deployment,
    redis_server: RedisServer,
    redis: Redis,
    product: Product,
    make_settings: SettingsFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    deployment.write("bistro")
    await _start(deployment, redis_server, product, make_settings, caplog)
    spa = deployment.businesses["spa"]

    deployment.write("bistro", "spa")  # added: its bot is polled, its number served
    await deployment.reloaded(1, caplog)
    await spa.telegram.wait_for_poller()
    await spa.telegram.person_says(ANA, "a massage on friday?")
    await deployment.whatsapp_says("spa", "and a facial")
    await spa.telegram.wait_for_messages(ANA.id, 1)
    await deployment.whatsapp.wait_for_messages(WANDA.wa_id, 1)
    assert len(spa.backend.calls) == 2

    # Removed while a batch of its waits (a longer window): the batch is kept, not lost.
    deployment.write("bistro", "spa", window=3)
    await deployment.reloaded(2, caplog)
    await deployment.whatsapp_says("spa", "actually, saturday")
    deployment.write("bistro")
    await deployment.reloaded(3, caplog)
    async with asyncio.timeout(30):
        while not (letters := await DeadLetters(redis, 3600).newest()):
            await asyncio.sleep(0.05)
    [letter] = letters
    assert letter.conversation == spa.whatsapp_conversation
    assert [m.text for m in letter.messages] == ["actually, saturday"]
    assert "no tenant serves" in letter.reason and "tenant spa's until it was removed" in (
        letter.reason
    )
    assert letter.tenant == "spa"  # whose it was, though no tenant serves it now
    assert len(spa.backend.calls) == 2  # never asked, nor any other backend
    assert deployment.default_backend.calls == []
    assert (
        await deployment.whatsapp.deliver(  # its number is no longer served
            delivery_json((WANDA, text_json(WANDA, "hello?")), phone_number_id=NUMBERS["spa"])
        )
        == 200
    )
    assert not await redis.exists(ConversationKeys(spa.whatsapp_conversation).batch)


async def test_a_second_bot_added_to_a_running_one_bot_deployment_loses_nothing(
    deployment: Deployment,
    redis_server: RedisServer,
    redis: Redis,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    product: Product,
    make_settings: SettingsFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The environment's bot has answered Ana (her history), a human has Bob's
    conversation, and Carol's batch waits; a second bot comes with a new tenant."""
    bob, carol = Person(id=8602, first_name="Bob"), Person(id=8603, first_name="Carol")
    deployment.path.write_text("# no tenants yet: the environment's bot serves alone\n")
    await _start(
        deployment, redis_server, product, make_settings, caplog, telegram=telegram, window=3
    )
    await telegram.wait_for_poller()
    await telegram.person_says(ANA, "hi")
    await telegram.wait_for_messages(ANA.id, 1)
    await Handoffs(redis, 3600).take_over(str(bob.id), "api", 600, "Sam here")
    await telegram.person_says(carol, "is the shop open on sunday?")
    async with asyncio.timeout(10):
        while not await redis.exists(ConversationKeys(str(carol.id)).batch):
            await asyncio.sleep(0.01)

    deployment.write("salon")
    await deployment.reloaded(1, caplog)
    assert await redis.exists(ConversationKeys(str(carol.id)).batch)  # still waiting
    salon = deployment.businesses["salon"]
    await salon.telegram.wait_for_poller()
    await salon.telegram.person_says(ANA, "a haircut?")
    await telegram.person_says(bob, "hello?")
    await telegram.person_says(ANA, "and tomorrow?")

    await telegram.wait_for_messages(carol.id, 1)  # the batch that waited, answered once
    await telegram.wait_for_messages(ANA.id, 2)
    await salon.telegram.wait_for_messages(ANA.id, 1)
    carols = [c for c in backend.calls if c.request.user.id == carol.id]
    assert [[m.text for m in c.request.messages] for c in carols] == [
        ["is the shop open on sunday?"]
    ]
    [second] = [c for c in backend.calls if c.request.messages[0].text == "and tomorrow?"]
    assert second.request.history is not None  # Ana's history, under her bare id still
    assert second.request.history[0].text == "hi"
    assert telegram.messages_to(bob.id) == []  # the human still has Bob
    held = await redis.lrange(ConversationKeys(str(bob.id)).held, 0, -1)  # type: ignore[misc]
    assert any(b"hello?" in item for item in held)
    assert [c.request.messages[0].text for c in salon.backend.calls] == ["a haircut?"]
    assert await redis.exists(ConversationKeys(salon.bot_conversation).history)


CONSOLE_TOKENS = {"bistro": "bistro-console-0123456", "salon": "salon-console-01234567"}
RULES = BatchingRules(
    window_ms=60_000,
    max_wait_ms=120_000,
    max_messages=10,
    max_pending_messages=200,
    max_pending_bytes=1_048_576,
    max_message_bytes=65_536,
)


async def _waiting(store: BatchStore, conversation: str, *, dead: bool = False) -> None:
    """A message waiting in ``conversation``; ``dead``: its batch made a dead letter."""
    chat, person = Chat(id=ANA.id, type="private"), User(id=ANA.id, first_name="Ana")
    words = IncomingMessage(message_id=1, date=datetime.now(UTC), kind=MessageKind.TEXT, text="hi")
    rules = dataclasses.replace(RULES, max_messages=1) if dead else RULES
    await store.append(conversation, chat, person, words, rules)
    if dead:
        claimed = await store.claim(
            conversation, max_messages=10, recheck_after_ms=60_000, lease_ms=60_000
        )
        assert claimed.batch is not None
        await store.release(claimed.batch, dead_letter_reason="backend answered 500")


async def test_a_tenants_console_token_sees_that_tenant_only(
    deployment: Deployment, redis_server: RedisServer, redis: Redis
) -> None:
    deployment.write("bistro", "salon")
    for name, token in CONSOLE_TOKENS.items():  # each tenant gets a console token
        text = deployment.path.read_text().replace(
            f"[tenants.{name}]\n", f'[tenants.{name}]\nconsole_token = "{token}"\n'
        )
        deployment.path.write_text(text)
    bistro, salon = deployment.businesses["bistro"], deployment.businesses["salon"]
    store = BatchStore(redis, 86400)
    await _waiting(store, bistro.bot_conversation)
    await _waiting(store, salon.bot_conversation)
    await _waiting(store, salon.whatsapp_conversation, dead=True)
    settings = ChannelSettings(tenants_file=deployment.path, redis_url=redis_server.url)
    console = ConsoleSettings(
        redis_url=redis_server.url, batchctl_console_token="operator-0123456789"
    )
    runner = await serve(console, redis, "127.0.0.1", 0, ConsoleTenants(settings))
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        async with httpx.AsyncClient(base_url=url) as http:

            async def state(token: str | None) -> dict[str, Any]:
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                return (await http.get("/api/state", headers=headers)).json()  # type: ignore[no-any-return]

            def waiting(seen: dict[str, Any]) -> set[str]:
                return {row["conversation"] for row in seen["pending"]}

            everything = await state(None)  # the operator, on loopback
            assert waiting(everything) == {bistro.bot_conversation, salon.bot_conversation}
            assert len(everything["dead_letters"]) == 1

            as_bistro = await state(CONSOLE_TOKENS["bistro"])
            assert as_bistro["tenant"] == "bistro"
            assert waiting(as_bistro) == {bistro.bot_conversation}
            assert as_bistro["dead_letters"] == [] and "rates" not in as_bistro
            assert as_bistro["totals"]["pending_conversations"] == 1

            as_salon = await state(CONSOLE_TOKENS["salon"])
            assert waiting(as_salon) == {salon.bot_conversation}
            [letter] = as_salon["dead_letters"]
            assert letter["conversation"] == salon.whatsapp_conversation

            bistro_auth = {"Authorization": f"Bearer {CONSOLE_TOKENS['bistro']}"}
            peek = await http.get(f"/api/dead-letters/{letter['batch_id']}", headers=bistro_auth)
            assert peek.status_code == 404  # another tenant's letter does not exist for it
            replay = f"/api/dead-letters/{letter['batch_id']}/replay"
            assert (await http.post(replay, headers=bistro_auth)).status_code == 401
            salon_auth = {"Authorization": f"Bearer {CONSOLE_TOKENS['salon']}"}
            assert (await http.post(replay, headers=salon_auth)).status_code == 200
    finally:
        await runner.cleanup()


async def test_a_tenant_at_its_cap_does_not_hold_up_another_tenants_batch(
    deployment: Deployment, redis: Redis, product: Product, make_settings: SettingsFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    """Bistro (MAX_BATCHES_IN_FLIGHT 2, a backend taking 1 s) has 8 batches due at once;
    salon's one batch falls due 0.3 s later and goes at once, not after bistro's backlog,
    whose jobs wait parked and are all answered in the end, never more than 2 at a time."""
    caplog.set_level(logging.INFO, "batchbot")
    bistro, salon = deployment.businesses["bistro"], deployment.businesses["salon"]
    bistro.backend.delay_seconds = 1.0
    capped = bistro.toml(deployment.whatsapp, max_batches_in_flight=2)
    deployment.path.write_text(capped + salon.toml(deployment.whatsapp))
    settings = make_settings(tenants_file=deployment.path, bot_token=None, worker_max_jobs=20)
    await product.start_workers(settings)
    async with asyncio.timeout(30):
        while not any("serving tenants" in r.message for r in caplog.records):
            await asyncio.sleep(0.02)
    store = BatchStore(redis, 86400)
    flood = range(5001, 5009)
    for user in flood:  # due at once (a batch of one message is due when stored)
        await _due(store, f"tg:{BOT_IDS['bistro']}:{user}", user, 1)
    await _due(store, salon.bot_conversation, ANA.id, 300)

    await salon.backend.wait_for_answered(1)
    [quiet] = salon.backend.calls
    async with asyncio.timeout(60):
        while len(bistro.telegram.sent) < len(flood):
            await asyncio.sleep(0.05)
    calls = bistro.backend.calls
    assert sorted(c.request.user.id for c in calls) == list(flood)  # all answered, once
    assert _most_at_once(calls) == 2
    started_before = sum(1 for c in calls if c.started_at < quiet.started_at)
    assert started_before <= 4, started_before  # not behind all 8 (2 at a time, 1 s each)
    assert await redis.zcard("tenant-parked:bistro") == 0


async def _due(store: BatchStore, conversation: str, user: int, in_ms: int) -> None:
    chat, person = Chat(id=user, type="private"), User(id=user, first_name="P")
    words = IncomingMessage(message_id=1, date=datetime.now(UTC), kind=MessageKind.TEXT, text="hi")
    rules = dataclasses.replace(RULES, window_ms=in_ms, max_wait_ms=in_ms)
    await store.append(conversation, chat, person, words, rules)


def _most_at_once(calls: list[BackendCall]) -> int:
    steps = sorted([(c.started_at, 1) for c in calls] + [(c.finished_at, -1) for c in calls])
    running = peak = 0
    for _, step in steps:
        running += step
        peak = max(peak, running)
    return peak


@pytest.mark.parametrize("process", ["bot", "worker"])
async def test_a_mistaken_tenants_file_stops_the_process_with_one_line_per_mistake(
    process: str, tmp_path: Path, redis_server: RedisServer
) -> None:
    path = tmp_path / "tenants.toml"
    path.write_text(
        "[tenants.salon]\n"
        "batch_window_seconds = -1\n"
        'colour = "blue"\n'
        'telegram = [{bot_token = "222222:salon-token", port = 3}]\n'
        "[tenants.Bad_Name]\n"
        'telegram = [{bot_token = "333333:x"}]\n'
    )
    env = {**os.environ, "REDIS_URL": redis_server.url, "TENANTS_FILE": str(path),
           "BACKEND_URL": "http://127.0.0.1:9/batch"}  # fmt: skip
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", process, env=env, stderr=asyncio.subprocess.PIPE
    )
    async with asyncio.timeout(60):
        _, stderr = await child.communicate()
    lines = stderr.decode().strip().splitlines()
    assert child.returncode == 1
    assert sorted(lines) == sorted(
        [
            "batchbot cannot start: TENANTS_FILE tenants.salon.batch_window_seconds: Input "
            "should be greater than 0 (got -1)",
            "batchbot cannot start: TENANTS_FILE tenants.salon.colour: not a setting a tenant "
            "may set; it may set " + ", ".join(sorted(TENANT_SETTINGS)) + ", console_token, "
            "and its accounts (telegram, whatsapp, instagram, messenger)",
            "batchbot cannot start: TENANTS_FILE tenants.Bad_Name: a tenant's name is 1 to 40 "
            "of a-z, 0-9, _ and -, starting with a letter or digit, and not 'default' (the "
            "environment's own tenant)",
        ]
    ), stderr.decode()


def test_batchctl_without_tenants_loads_no_channel() -> None:
    """Reading tenants needs the channels (aiogram among them, seconds of start-up);
    batchctl without TENANTS_FILE must not pay for them: three at once had starved a
    worker sharing the machine past its lease."""
    code = "import sys, batchctl.__main__, batchctl.console; print('aiogram' in sys.modules)"
    env = {k: v for k, v in os.environ.items() if k != "TENANTS_FILE"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False"


def test_two_bots_alike_but_for_their_tokens_get_a_receiver_each(tmp_path: Path) -> None:
    """Two bots of one tenant on one Bot API server differ only by their tokens, which
    settings show as stars: each must still be received for."""
    path = tmp_path / "tenants.toml"
    path.write_text(
        '[tenants.bistro]\ntelegram = [{bot_token = "111111:one"}, {bot_token = "222222:two"}]\n'
    )
    settings = BotSettings(tenants_file=path, redis_url="redis://127.0.0.1:1")
    [tenant] = read_tenants(settings)
    one, two = tenant.accounts
    assert receiver_key(one) != receiver_key(two)
    assert [one.owner, two.owner] == ["111111", "222222"]
