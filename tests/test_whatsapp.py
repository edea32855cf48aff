"""WhatsApp end to end: ``python -m bot`` with only WhatsApp configured, real workers, real
redis-server, and the WhatsApp Cloud API stand-in over HTTP in both directions (signed
webhook deliveries in, Graph API sends out)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from channels.whatsapp.conversations import conversation_id as whatsapp_conversation_id
from sandbox.environment import whatsapp_environment
from sandbox.example_backend import ExampleBackend
from sandbox.launcher import ChildProcess
from sandbox.redis_server import RedisServer, free_port
from sandbox.telegram_api import Person, TelegramStandIn
from sandbox.whatsapp_api import SANDBOX_VERIFY_TOKEN, WaForcedError, WhatsAppStandIn
from sandbox.whatsapp_wire import (
    SANDBOX_PHONE_NUMBER_ID,
    WaPerson,
    business_app_echo,
    delivery_json,
    message_json,
    status_json,
    text_json,
)
from shared.dead_letters import DeadLetters
from shared.keys import ConversationKeys
from tests.conftest import (
    Product,
    SettingsFactory,
    WorkerProcess,
    settings_environment,
    three_parts,
    wait_until_idle,
)
from tests.crashes import the_claimer
from worker.settings import WorkerProcessSettings

PAYLOADS = Path(__file__).parent / "whatsapp_payloads"
ANA = WaPerson(wa_id="14155550101", name="Ana")
BEN = WaPerson(wa_id="14155550102", name="Ben")


@pytest.fixture
def whatsapp_settings(make_settings: SettingsFactory, whatsapp: WhatsAppStandIn) -> SettingsFactory:
    """Settings with WhatsApp as the only channel (no BOT_TOKEN)."""

    def factory(**overrides: Any) -> WorkerProcessSettings:
        values: dict[str, Any] = {
            "bot_token": None,
            "whatsapp_access_token": whatsapp.access_token,
            "whatsapp_api_url": whatsapp.api_url,
        }
        return make_settings(**{**values, **overrides})

    return factory


async def start_bot(
    settings: WorkerProcessSettings,
    whatsapp: WhatsAppStandIn,
    started: list[ChildProcess],
    **bot_only: str,
) -> ChildProcess:
    """``python -m bot`` serving WhatsApp's webhook on a free loopback port; ``bot_only``
    are more of the bot's settings (``PROACTIVE_TOKEN=...``)."""
    port = free_port()
    env = {
        **os.environ,
        **settings_environment(settings),
        **whatsapp_environment(whatsapp, port),
        **bot_only,
    }
    bot = await ChildProcess.launch([sys.executable, "-m", "bot"], env, b"Meta webhooks: listening")
    started.append(bot)
    whatsapp.webhook_url = f"http://127.0.0.1:{port}/webhook/whatsapp"
    return bot


async def test_a_burst_is_one_backend_call_in_order_and_one_answer_with_the_bearer_token(
    whatsapp_settings: SettingsFactory,
    whatsapp: WhatsAppStandIn,
    backend: ExampleBackend,
    product: Product,
    redis: Redis,
    bot_process: list[ChildProcess],
) -> None:
    settings = whatsapp_settings()
    await start_bot(settings, whatsapp, bot_process)
    await product.start_workers(settings)
    now = 1_790_000_000
    hi = text_json(ANA, "hi", timestamp=now)
    book = text_json(ANA, "can I book", timestamp=now)  # same second: arrival order
    photo = message_json(
        ANA,
        "image",
        {"id": "MEDIA-1", "mime_type": "image/jpeg", "caption": "this cut"},
        timestamp=now + 1,
    )
    voice = message_json(ANA, "audio", {"id": "MEDIA-2", "voice": True}, timestamp=now + 2)
    late = text_json(ANA, "hello!", timestamp=now - 5)  # written first, delivered last
    for message in (hi, book, photo, voice, late):
        assert await whatsapp.deliver(delivery_json((ANA, message))) == 200

    [answer] = await whatsapp.wait_for_messages(ANA.wa_id, 1)
    await wait_until_idle(redis)

    [call] = backend.calls
    request = call.request
    assert request.channel == "whatsapp"
    assert (request.chat.id, request.user.id, request.user.first_name) == (ANA.wa_id,) * 2 + (
        "Ana",
    )
    assert [m.message_id for m in request.messages] == [
        m["id"] for m in (late, hi, book, photo, voice)
    ]
    assert [m.kind.value for m in request.messages] == ["text", "text", "text", "photo", "voice"]
    assert request.messages[3].file_id == "MEDIA-1"
    assert request.text == "hello!\nhi\ncan I book\nthis cut"
    [sent] = whatsapp.sent
    assert sent.text == answer and "5 message(s)" in answer
    assert sent.authorization == f"Bearer {whatsapp.access_token}"
    assert sent.phone_number_id == SANDBOX_PHONE_NUMBER_ID and sent.reply_to is None
    # While the backend worked, the batch's last message was marked read with 'typing…'.
    assert whatsapp.typing and whatsapp.typing[0].message_id == voice["id"]
    assert whatsapp.typing[0].typing


async def test_a_flow_form_an_order_and_an_unsupported_message_reach_the_backend(
    whatsapp_settings: SettingsFactory,
    whatsapp: WhatsAppStandIn,
    backend: ExampleBackend,
    product: Product,
    redis: Redis,
    bot_process: list[ChildProcess],
) -> None:
    """Meta's documented deliveries, signed and posted as Meta would: a person's form
    submission (WhatsApp Flows), cart and unsupported message are one burst, answered once."""
    settings = whatsapp_settings()
    await start_bot(settings, whatsapp, bot_process)
    await product.start_workers(settings)
    for name in ("interactive_flow_reply", "order", "unsupported", "system"):
        assert await whatsapp.deliver((PAYLOADS / f"{name}.json").read_bytes()) == 200
    await whatsapp.wait_for_messages("16505551234", 1)
    await wait_until_idle(redis)

    [call] = backend.calls
    flow, order, unsupported = call.request.messages  # the system notice is left out
    assert flow.kind.value == "interactive" and flow.text == "Sent"
    assert flow.data == {
        "flow_token": "booking-1234",
        "service": "haircut",
        "date": "2026-12-03",
        "time": "17:00",
    }
    assert order.kind.value == "order" and order.order is not None
    assert [(i.product_id, i.quantity) for i in order.order.items] == [
        ("di9ozbzfi4", 2),
        ("nqryix03ez", 1),
    ]
    assert (unsupported.content_type, unsupported.text) == (
        "unsupported:edit",
        "Message type unknown",
    )
    assert call.request.text == "Sent\nPlease deliver before 5\nMessage type unknown"


async def test_a_wrong_or_missing_signature_is_401_and_nothing_is_stored(
    whatsapp_settings: SettingsFactory,
    whatsapp: WhatsAppStandIn,
    redis: Redis,
    bot_process: list[ChildProcess],
) -> None:
    await start_bot(whatsapp_settings(), whatsapp, bot_process)
    delivery = delivery_json((ANA, text_json(ANA, "let me in")))

    assert await whatsapp.deliver(delivery, signature="sha256=" + "0" * 64) == 401
    assert await whatsapp.deliver(delivery, signature="") == 401
    other_secret = WhatsAppStandIn(
        app_secret="not-the-app-secret", webhook_url=whatsapp.webhook_url
    )
    await other_secret.start()
    try:
        assert await other_secret.deliver(delivery) == 401
    finally:
        await other_secret.stop()

    assert await redis.keys("*") == []


async def test_meta_verifies_the_webhook_with_the_verify_token(
    whatsapp_settings: SettingsFactory,
    whatsapp: WhatsAppStandIn,
    bot_process: list[ChildProcess],
) -> None:
    await start_bot(whatsapp_settings(), whatsapp, bot_process)
    query = {"hub.mode": "subscribe", "hub.challenge": "1158201444"}
    async with httpx.AsyncClient() as http:
        right = await http.get(
            whatsapp.webhook_url, params={**query, "hub.verify_token": SANDBOX_VERIFY_TOKEN}
        )
        wrong = await http.get(whatsapp.webhook_url, params={**query, "hub.verify_token": "guess"})
    assert (right.status_code, right.text) == (200, "1158201444")
    assert wrong.status_code == 403


async def test_a_redelivered_delivery_is_stored_once_and_statuses_are_ignored(
    whatsapp_settings: SettingsFactory,
    whatsapp: WhatsAppStandIn,
    backend: ExampleBackend,
    product: Product,
    redis: Redis,
    bot_process: list[ChildProcess],
) -> None:
    settings = whatsapp_settings()
    await start_bot(settings, whatsapp, bot_process)
    first, second = text_json(ANA, "one"), text_json(BEN, "two")
    delivery = delivery_json((ANA, first), (BEN, second))  # two people in one delivery
    statuses = delivery_json(statuses=[status_json("wamid.OUT1", ANA, "read")])

    for body in (delivery, statuses, delivery):
        assert await whatsapp.deliver(body) == 200
    ana = ConversationKeys(whatsapp_conversation_id(SANDBOX_PHONE_NUMBER_ID, ANA.wa_id))
    assert await redis.llen(ana.batch) == 1  # type: ignore[misc]

    await product.start_workers(settings)
    await whatsapp.wait_for_messages(ANA.wa_id, 1)
    await whatsapp.wait_for_messages(BEN.wa_id, 1)
    await wait_until_idle(redis)
    assert sorted(c.request.text for c in backend.calls) == ["one", "two"]
    assert len(whatsapp.sent) == 2


async def test_a_body_that_is_not_a_delivery_is_400_with_what_was_expected(
    whatsapp_settings: SettingsFactory,
    whatsapp: WhatsAppStandIn,
    redis: Redis,
    bot_process: list[ChildProcess],
) -> None:
    await start_bot(whatsapp_settings(), whatsapp, bot_process)
    for body in (b"not json", b'{"object": "page", "entry": []}', b"[]"):
        assert await whatsapp.deliver(body) == 400
    assert await redis.keys("*") == []


async def test_a_closed_customer_service_window_is_a_dead_letter_without_retries(
    whatsapp_settings: SettingsFactory,
    whatsapp: WhatsAppStandIn,
    backend: ExampleBackend,
    product: Product,
    redis: Redis,
    bot_process: list[ChildProcess],
) -> None:
    settings = whatsapp_settings()
    await start_bot(settings, whatsapp, bot_process)
    await product.start_workers(settings)
    whatsapp.fail_next(WaForcedError(400, 131047, "Re-engagement message"))

    await whatsapp.person_says(ANA, "are you there?")
    await backend.wait_for_answered_messages(1)
    await wait_until_idle(redis)

    [letter] = await DeadLetters(redis, settings.redis_key_ttl_seconds).newest()
    assert "24-hour customer-service window is closed" in letter.reason
    assert "131047" in letter.reason
    assert letter.conversation == whatsapp_conversation_id(SANDBOX_PHONE_NUMBER_ID, ANA.wa_id)
    assert len(backend.calls) == 1
    assert whatsapp.send_attempts == 1  # no retry, and no apology that would fail again
    assert whatsapp.sent == []


async def test_a_refused_access_token_is_a_dead_letter_and_a_loud_log_line(
    whatsapp_settings: SettingsFactory,
    whatsapp: WhatsAppStandIn,
    backend: ExampleBackend,
    redis: Redis,
    bot_process: list[ChildProcess],
    worker_processes: list[WorkerProcess],
) -> None:
    settings = whatsapp_settings()
    await start_bot(settings, whatsapp, bot_process)
    worker = await WorkerProcess.start(whatsapp_settings(whatsapp_access_token="EAAG-revoked"))
    worker_processes.append(worker)

    await whatsapp.person_says(ANA, "hello?")
    await backend.wait_for_answered_messages(1)
    await wait_until_idle(redis)

    [letter] = await DeadLetters(redis, settings.redis_key_ttl_seconds).newest()
    assert "refused WHATSAPP_ACCESS_TOKEN" in letter.reason
    assert whatsapp.refused_calls >= 1 and whatsapp.sent == []
    assert worker.logged(b"CRITICAL") and worker.logged(b"refused WHATSAPP_ACCESS_TOKEN")
    assert not worker.logged(b"EAAG-revoked")  # the token itself is never logged


async def test_a_worker_killed_mid_batch_is_answered_once(
    whatsapp_settings: SettingsFactory,
    whatsapp: WhatsAppStandIn,
    backend: ExampleBackend,
    redis: Redis,
    bot_process: list[ChildProcess],
    worker_processes: list[WorkerProcess],
) -> None:
    backend.answerer = three_parts
    backend.delay_seconds = 1.0
    settings = whatsapp_settings()
    await start_bot(settings, whatsapp, bot_process)
    workers = [await WorkerProcess.start(settings) for _ in range(2)]
    worker_processes.extend(workers)

    await whatsapp.person_says(ANA, "book me", "for friday")
    await backend.wait_for_received(1)
    assert await (await the_claimer(workers)).stop(signal.SIGKILL) == -signal.SIGKILL

    await whatsapp.wait_for_messages(ANA.wa_id, 3, timeout_seconds=15)
    await wait_until_idle(redis)
    assert whatsapp.messages_to(ANA.wa_id) == ["part 1", "part 2", "part 3"]
    assert len(backend.calls) == 1 and backend.replayed == 1


async def test_both_channels_in_one_deployment_each_person_answered_on_their_own(
    whatsapp_settings: SettingsFactory,
    whatsapp: WhatsAppStandIn,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    product: Product,
    redis: Redis,
    bot_process: list[ChildProcess],
) -> None:
    # Tess's two updates have Ana's two deliveries between them: a window that outlasts
    # that on a loaded machine, or her burst is two batches (seen once at 0.5 s).
    settings = whatsapp_settings(bot_token=telegram.token, batch_window_seconds=3.0)
    await start_bot(settings, whatsapp, bot_process)
    await telegram.wait_for_poller()
    await product.start_workers(settings, 2)
    tess = Person(id=7007, first_name="Tess")

    await telegram.person_says(tess, "hi from telegram")
    await whatsapp.person_says(ANA, "hi from whatsapp", "and again")
    await telegram.person_says(tess, "still me")

    [on_telegram] = await telegram.wait_for_messages(tess.id, 1)
    [on_whatsapp] = await whatsapp.wait_for_messages(ANA.wa_id, 1)
    await wait_until_idle(redis)
    by_channel = {call.request.channel.value: call.request for call in backend.calls}
    assert len(backend.calls) == 2 and set(by_channel) == {"telegram", "whatsapp"}
    assert by_channel["telegram"].text == "hi from telegram\nstill me"
    assert by_channel["whatsapp"].text == "hi from whatsapp\nand again"
    assert "Tess" in on_telegram and "Ana" in on_whatsapp
    assert [m.to for m in whatsapp.sent] == [ANA.wa_id]
    assert [m.chat_id for m in telegram.sent] == [tess.id]


async def test_proactive_messages_and_batchctl_work_the_same_on_whatsapp(
    whatsapp_settings: SettingsFactory,
    whatsapp: WhatsAppStandIn,
    redis_server: RedisServer,
    product: Product,
    redis: Redis,
    bot_process: list[ChildProcess],
) -> None:
    settings, token, metrics_port = whatsapp_settings(), "p" * 16, free_port()
    await start_bot(
        settings,
        whatsapp,
        bot_process,
        PROACTIVE_TOKEN=token,
        BOT_METRICS_PORT=str(metrics_port),
    )
    await whatsapp.person_says(BEN, "is my table ready?")  # pending: no worker yet
    conversation = whatsapp_conversation_id(SANDBOX_PHONE_NUMBER_ID, BEN.wa_id)
    env = {**os.environ, "REDIS_URL": redis_server.url}
    inspect = [sys.executable, "-m", "batchctl", "inspect"]

    def run(command: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(command, env=env, capture_output=True, text=True, check=True)

    listing = await asyncio.to_thread(run, inspect)
    detail = await asyncio.to_thread(run, [*inspect, conversation])
    assert any(
        line.split()[:2] == ["whatsapp", conversation] for line in listing.stdout.splitlines()
    )
    shown = json.loads(detail.stdout)
    assert shown["channel"] == "whatsapp"
    assert [m["text"] for m in shown["pending"]] == ["is my table ready?"]

    proactive = f"http://127.0.0.1:{metrics_port}/proactive"
    auth = {"Authorization": f"Bearer {token}"}
    message = {"messages": [{"text": "Your table is ready."}]}
    async with httpx.AsyncClient() as http:
        queued = await http.post(
            proactive, headers=auth, json={"channel": "whatsapp", "wa_id": ANA.wa_id, **message}
        )
        missing = await http.post(proactive, headers=auth, json={"channel": "whatsapp", **message})
    assert queued.status_code == 202, queued.text
    assert missing.status_code == 400 and "wa_id" in missing.json()["error"]

    await product.start_workers(settings)
    assert await whatsapp.wait_for_messages(ANA.wa_id, 1) == ["Your table is ready."]
    assert len(await whatsapp.wait_for_messages(BEN.wa_id, 1)) == 1
    await wait_until_idle(redis)


async def test_a_webhook_port_already_taken_is_one_line_naming_the_setting(
    whatsapp_settings: SettingsFactory, whatsapp: WhatsAppStandIn
) -> None:
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen()
    env = {
        **os.environ,
        **settings_environment(whatsapp_settings()),
        **whatsapp_environment(whatsapp, held.getsockname()[1]),
    }
    try:
        finished = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "bot"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        held.close()
    assert finished.returncode == 1
    assert "batchbot cannot start: META_LISTEN_PORT" in finished.stderr
    assert "Traceback" not in finished.stderr


async def test_a_signed_message_echo_from_the_business_app_pauses_the_conversation(
    whatsapp_settings: SettingsFactory,
    whatsapp: WhatsAppStandIn,
    backend: ExampleBackend,
    product: Product,
    redis: Redis,
    bot_process: list[ChildProcess],
) -> None:
    """Coexistence: the shop answers from the WhatsApp Business app. The echo (signed like
    any delivery; an unsigned one is refused) hands Ana's waiting message to the shop."""
    settings = whatsapp_settings(batch_window_seconds=2, handoff_seconds=120)
    await start_bot(settings, whatsapp, bot_process)
    await product.start_workers(settings)
    conversation = whatsapp_conversation_id(SANDBOX_PHONE_NUMBER_ID, ANA.wa_id)
    keys = ConversationKeys(conversation)

    await whatsapp.person_says(ANA, "do you deliver?")
    echo = business_app_echo(ANA, "Yes! Sam from the shop here")
    assert await whatsapp.deliver(echo, signature="sha256=" + "0" * 64) == 401
    assert not await redis.exists(keys.handoff)
    assert await whatsapp.deliver(echo) == 200

    assert (await redis.hgetall(keys.handoff))[b"source"] == b"owner"  # type: ignore[misc]
    held = await redis.lrange(keys.held, 0, -1)  # type: ignore[misc]
    assert [b"do you deliver?" in held[0], b"Sam from the shop" in held[1]] == [True, True]
    assert await redis.llen(keys.batch) == 0  # type: ignore[misc]
    assert backend.received == []
