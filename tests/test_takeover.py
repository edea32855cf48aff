"""A human takes a conversation over, end to end: the real dispatcher and workers, the Bot
API stand-in emitting Telegram Business updates, a real redis-server. Every signal
(the owner writes, ``"handoff": true``, batchctl, ``POST /handoff``) pauses the
conversation; what was waiting goes to the human, never to the backend; after the pause
it is history, and the next message starts a normal batch."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import httpx
import pytest
from aiohttp import web
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from bot.handoff import handoff_handler
from config.tenancy import Routes
from config.tenants import read_tenants
from sandbox.example_backend import ExampleBackend
from sandbox.launcher import ChildProcess
from sandbox.peek import pending_count
from sandbox.redis_server import RedisServer, free_port
from sandbox.telegram_api import Person, TelegramStandIn
from sandbox.telegram_business import Business, business_message, connect
from shared import arq_layout
from shared.handoff import Handoffs
from shared.keys import ConversationKeys
from shared.models import (
    BatchRequest,
    BatchResponse,
    Chat,
    IncomingMessage,
    MessageKind,
    OutgoingMessage,
    User,
)
from shared.rules import BatchingRules
from shared.store import BatchStore
from tests.conftest import (
    Product,
    SettingsFactory,
    WorkerProcess,
    launch_polling_bot,
    run_batchctl,
    wait_until_idle,
)
from tests.crashes import the_claimer

OWNER = Person(id=5001, first_name="Olga")
SALON = Business(connection_id="BCAAAAbusiness-1", owner=OWNER)
CARL = Person(id=6001, first_name="Carl")
CARL_CONVERSATION = f"biz:{SALON.connection_id}:{CARL.id}"
ANA = Person(id=1001, first_name="Ana")


async def until(check: Callable[[], Awaitable[bool]], timeout_seconds: float = 15) -> None:
    """Wait for a state the product reaches on its own (polled, bounded)."""
    async with asyncio.timeout(timeout_seconds):
        while not await check():
            await asyncio.sleep(0.02)


def batches_counted(channel: str, outcome: str) -> float:
    labels = {"channel": channel, "outcome": outcome}
    return REGISTRY.get_sample_value("batchbot_batches_total", labels) or 0.0


async def held(redis: Redis, conversation: str) -> list[bytes]:
    items: list[bytes] = await redis.lrange(ConversationKeys(conversation).held, 0, -1)  # type: ignore[misc]
    return items


async def paused(redis: Redis, conversation: str) -> dict[bytes, bytes]:
    fields: dict[bytes, bytes] = await redis.hgetall(ConversationKeys(conversation).handoff)  # type: ignore[misc]
    return fields


@pytest.fixture
async def running(make_settings: SettingsFactory, product: Product) -> Product:
    await product.start(
        make_settings(batch_window_seconds=2, history_turns=10, handoff_seconds=120)
    )
    return product


async def test_the_owners_message_mid_burst_stops_the_batch_and_is_history_after(
    running: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
    redis_server: RedisServer,
) -> None:
    await connect(telegram, SALON)
    await telegram.deliver(
        business_message(telegram, SALON, CARL, "hi"),
        business_message(telegram, SALON, CARL, "can I book for 5?"),
    )
    await until(lambda: _equals(pending_count(redis, CARL_CONVERSATION), 2))
    await telegram.deliver(business_message(telegram, SALON, CARL, "Sure, 5 is yours", by=OWNER))
    await until(lambda: _truthy(paused(redis, CARL_CONVERSATION)))

    pause = await paused(redis, CARL_CONVERSATION)
    assert pause[b"source"] == b"owner"
    assert await pending_count(redis, CARL_CONVERSATION) == 0
    assert len(await held(redis, CARL_CONVERSATION)) == 3  # two messages, then the owner's
    job = arq_layout.batch_job_id(CARL_CONVERSATION)
    assert await redis.zscore(arq_layout.QUEUE, job) == int(pause[b"until"])

    await telegram.deliver(business_message(telegram, SALON, CARL, "thanks!"))
    await until(lambda: _equals(_count(held(redis, CARL_CONVERSATION)), 4))
    inspected = await run_batchctl(redis_server.url, "inspect", CARL_CONVERSATION)
    assert '"source": "owner"' in inspected and "thanks!" in inspected

    said = await run_batchctl(redis_server.url, "handoff", CARL_CONVERSATION, "--resume")
    assert "handed back" in said
    await wait_until_idle(redis)
    assert await held(redis, CARL_CONVERSATION) == []
    assert backend.received == []  # what the owner dealt with is not answered as a burst

    await telegram.deliver(business_message(telegram, SALON, CARL, "is there parking?"))
    [answer] = await telegram.wait_for_messages(CARL.id, 1)
    [call] = backend.calls
    assert call.request.text == "is there parking?" and "1 message(s)" in answer
    assert [(t.role, t.by, t.text) for t in call.request.history or []] == [
        ("user", None, "hi\ncan I book for 5?"),
        ("assistant", "human", "Sure, 5 is yours"),
        ("user", None, "thanks!"),
    ]


async def test_a_batch_at_the_backend_when_the_owner_writes_is_never_answered(
    running: Product, telegram: TelegramStandIn, backend: ExampleBackend, redis: Redis
) -> None:
    backend.delay_seconds = 1.5
    before = batches_counted("telegram", "handed_over")
    await connect(telegram, SALON)
    await telegram.deliver(business_message(telegram, SALON, CARL, "how much is a trim?"))
    await backend.wait_for_received(1)
    await telegram.deliver(business_message(telegram, SALON, CARL, "It's 20", by=OWNER))

    await until(lambda: _equals(redis.exists(ConversationKeys(CARL_CONVERSATION).inflight), 0))
    await backend.wait_for_answered(1)  # the backend answered: that answer is dropped
    assert telegram.messages_to(CARL.id) == []
    assert batches_counted("telegram", "handed_over") == before + 1
    assert [item.count(b"how much") for item in await held(redis, CARL_CONVERSATION)] == [1, 0]


async def test_a_backend_answer_with_handoff_is_sent_then_the_conversation_pauses(
    running: Product, telegram: TelegramStandIn, backend: ExampleBackend, redis: Redis
) -> None:
    async def colleague(request: BatchRequest) -> BatchResponse:
        text = "A colleague will answer you shortly"
        return BatchResponse(messages=[OutgoingMessage(text=text)], handoff=True)

    backend.answerer = colleague
    await telegram.person_says(ANA, "I want to talk to a person")
    assert await telegram.wait_for_messages(ANA.id, 1) == ["A colleague will answer you shortly"]
    await until(lambda: _truthy(paused(redis, str(ANA.id))))
    assert (await paused(redis, str(ANA.id)))[b"source"] == b"backend"

    await telegram.person_says(ANA, "hello?")
    await until(lambda: _equals(_count(held(redis, str(ANA.id))), 1))
    assert len(backend.received) == 1 and await pending_count(redis, str(ANA.id)) == 0


async def _bot_with_ops_port(
    redis_server: RedisServer, telegram: TelegramStandIn, **settings: str
) -> tuple[ChildProcess, str]:
    bot, port = await launch_polling_bot(redis_server.url, telegram, **settings)
    return bot, f"http://127.0.0.1:{port}"


async def test_handoff_on_the_bots_ops_port_needs_the_token_refuses_slips_and_resumes(
    redis_server: RedisServer, telegram: TelegramStandIn, redis: Redis
) -> None:
    """POST /handoff as an operator sends it: to the running bot. Every slip is a 400
    naming what was wrong, and changes nothing."""
    bot, url = await _bot_with_ops_port(redis_server, telegram, PROACTIVE_TOKEN="ops-token-0123456")
    token = {"Authorization": "Bearer ops-token-0123456"}
    try:
        await telegram.person_says(ANA, "hi")  # no worker: pending, a known conversation
        async with httpx.AsyncClient(base_url=url) as http:
            body = {"channel": "telegram", "chat": ANA.id, "seconds": 90}
            assert (await http.post("/handoff", json=body)).status_code == 401

            slips = {
                "unknown chat": ({"chat": 99999999, "seconds": 60}, "chat: no conversation"),
                "not an id": ({"conversation": "zzz"}, "'zzz' is not a conversation id"),
                "two names": ({"conversation": "wa:1:2", "channel": "whatsapp", "wa_id": "3"},
                              "give conversation or the person (channel, wa_id)"),
                "true seconds": ({"chat": ANA.id, "seconds": True}, "valid number"),
                "no one": ({"seconds": 60}, "say whose conversation: chat"),
                "negative": ({"chat": ANA.id, "seconds": -1}, "greater than 0"),
                "both": ({"chat": ANA.id, "seconds": 5, "resume": True}, "not both"),
            }  # fmt: skip
            for name, (slip, said) in slips.items():
                answer = await http.post("/handoff", json=slip, headers=token)
                assert answer.status_code == 400, name
                assert said in answer.text, (name, answer.text)
            assert await paused(redis, "1001") == {}
            seconds = (await http.post("/handoff", json={"chat": ANA.id, "seconds": True},
                                       headers=token)).json()["problems"][0]  # fmt: skip
            assert seconds["loc"] == ["seconds"]

            taken = await http.post("/handoff", json=body, headers=token)
            assert taken.status_code == 200
            assert (taken.json()["conversation"], taken.json()["held"]) == ("1001", 1)
            assert (await paused(redis, "1001"))[b"source"] == b"api"
            back = await http.post("/handoff", json={"chat": ANA.id, "resume": True}, headers=token)
            assert back.json() == {"conversation": "1001", "resumed": True}
            assert await paused(redis, "1001") == {}
    finally:
        assert await bot.stop() == 0


async def test_handoff_and_proactive_say_how_to_turn_them_on(
    redis_server: RedisServer, telegram: TelegramStandIn
) -> None:
    bot, url = await _bot_with_ops_port(redis_server, telegram)  # no PROACTIVE_TOKEN
    try:
        async with httpx.AsyncClient(base_url=url) as http:
            for path in ("/handoff", "/proactive"):
                answer = await http.post(path, json={"chat": ANA.id})
                assert answer.status_code == 404
                assert "set PROACTIVE_TOKEN" in answer.json()["error"]
    finally:
        assert await bot.stop() == 0


async def test_handoff_says_when_takeover_is_off(
    make_settings: SettingsFactory, redis: Redis
) -> None:
    settings = make_settings(proactive_token="ops-token-0123456", handoff_seconds=0)
    handoffs = Handoffs(redis, settings.redis_key_ttl_seconds)
    await handoffs.take_over("1001", "api", 1)  # a conversation the bot knows
    app = web.Application()
    routes = Routes(read_tenants(settings))
    app.router.add_post("/off", handoff_handler(handoffs, "ops-token", lambda: routes, 0))
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            body = {"chat": ANA.id, "seconds": 90}
            off = await http.post("/off", json=body, headers={"Authorization": "Bearer ops-token"})
        assert off.status_code == 409 and "HANDOFF_SECONDS=0" in off.json()["error"]
    finally:
        await runner.cleanup()


async def test_batchctl_hands_a_conversation_over_and_back(
    redis: Redis, redis_server: RedisServer
) -> None:
    """It checks what POST /handoff checks: an id, of a conversation that exists."""
    for slip, said in (("a b*", "is not a conversation id"), ("4242", "no conversation 4242")):
        command = [sys.executable, "-m", "batchctl", "handoff", slip, "--seconds", "60"]
        env = {**os.environ, "REDIS_URL": redis_server.url}
        failed = await asyncio.to_thread(subprocess.run, command, env=env, capture_output=True,
                                         text=True, check=False)  # fmt: skip
        assert (failed.returncode, failed.stdout) == (2, ""), failed.stderr
        assert said in failed.stderr
    assert [key async for key in redis.scan_iter(match="handoff:*")] == []
    hi = IncomingMessage(message_id=1, date=datetime.now(UTC), kind=MessageKind.TEXT, text="hi")
    ana = (Chat(id=ANA.id, type="private"), User(id=ANA.id, first_name="Ana"))
    rules = BatchingRules(1000, 60_000, 10, 200, 1_048_576, 65_536)
    await BatchStore(redis, 3600).append("1001", *ana, hi, rules)
    said = await run_batchctl(redis_server.url, "handoff", "1001", "--seconds", "60")
    assert "taken over until" in said and "1 message(s) held for you" in said
    assert "no batch was at the backend" in said
    assert (await paused(redis, "1001"))[b"source"] == b"batchctl"
    assert 55_000 < await redis.pttl(ConversationKeys("1001").handoff) <= 60_000
    assert "handed back" in await run_batchctl(redis_server.url, "handoff", "1001", "--resume")
    assert "was not taken over" in await run_batchctl(
        redis_server.url, "handoff", "1001", "--resume"
    )


async def test_a_takeover_while_a_killed_workers_batch_is_at_the_backend_is_never_answered(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
    worker_processes: list[WorkerProcess],
    redis_server: RedisServer,
) -> None:
    """The worker dies with the batch at the backend; the human takes over (batchctl, which
    says the message was at the backend, not pending); the worker that takes the batch over
    finds it abandoned and sends nothing."""
    backend.delay_seconds = 1.0
    settings = make_settings(history_turns=10)
    await product.start_bot(settings)
    workers = [await WorkerProcess.start(settings) for _ in range(2)]
    worker_processes.extend(workers)

    await telegram.person_says(ANA, "cancel my booking")
    await backend.wait_for_received(1)
    assert await (await the_claimer(workers)).stop(signal.SIGKILL) == -signal.SIGKILL
    said = await run_batchctl(redis_server.url, "handoff", "1001", "--seconds", "60")
    assert "1 message(s) held for you; the batch at the backend is abandoned" in said
    assert "pending" not in said

    await until(lambda: _equals(redis.exists(ConversationKeys("1001").inflight), 0), 30)
    assert telegram.messages_to(ANA.id) == []
    [item] = await held(redis, "1001")
    assert b"cancel my booking" in item


async def _equals(value: Awaitable[object], expected: object) -> bool:
    return await value == expected


async def _truthy(value: Awaitable[object]) -> bool:
    return bool(await value)


async def _count(items: Awaitable[list[bytes]]) -> int:
    return len(await items)
