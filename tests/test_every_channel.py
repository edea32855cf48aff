"""What a business relies on, on every channel alike, end to end: ``python -m bot``
serving Telegram, WhatsApp, Instagram and Messenger at once, real workers, a real
redis-server, and each platform's stand-in over loopback.

- A part of an answer the platform refuses for good is never recorded as delivered: it is
  a dead letter with the platform's own reason (and can be replayed), it stays out of
  the history, and the job's summary and metrics say so.
- A proactive message queued while a human has the conversation is held, not sent: the
  answer says until when, and it goes out once the human hands the conversation back.
  The takeover (on Instagram: a reply written in Meta's inbox) and the hand-back are
  requested on the bot's own ops port.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from sandbox.environment import product_environment
from sandbox.example_backend import ExampleBackend
from sandbox.launcher import ChildProcess
from sandbox.messaging_wire import echo_event
from sandbox.redis_server import RedisServer, free_port
from sandbox.send_api import ForcedError as MetaError
from sandbox.send_api import SendApiStandIn, instagram_shape, messenger_shape
from sandbox.telegram_api import ForcedError as TelegramError
from sandbox.telegram_api import Person, TelegramStandIn
from sandbox.whatsapp_api import WaForcedError, WhatsAppStandIn
from sandbox.whatsapp_wire import SANDBOX_PHONE_NUMBER_ID, WaPerson
from shared.arq_layout import QUEUE, BatchJob
from shared.dead_letters import DeadLetters
from shared.keys import ConversationKeys
from shared.models import Turn
from tests.conftest import Product, SettingsFactory, wait_until_idle

TOKEN = "ops-token-0123456789"
ANA = Person(id=8601, first_name="Ana")
WANDA = WaPerson(wa_id="16505550123", name="Wanda")
IVY = "6100000000000001"
TOO_LONG = "Bad Request: message is too long"
PAUL = "7200000000000001"


@dataclass
class Channel:
    """One channel as a test drives it: the person, their conversation, how to address
    them in /proactive and /handoff, and the platform's stand-in."""

    name: str
    conversation: str
    address: dict[str, Any]
    says: Callable[[str], Awaitable[Any]]
    wait_for: Callable[[int], Awaitable[list[str]]]
    sent: Callable[[], list[str]]
    refuse_next: Callable[[], None]
    refusal: str
    """The platform's words for the refusal, as the dead letter must keep them."""


@dataclass
class Stand:
    telegram: TelegramStandIn
    whatsapp: WhatsAppStandIn
    instagram: SendApiStandIn
    messenger: SendApiStandIn
    ops_url: str = ""

    def channel(self, name: str) -> Channel:
        if name == "telegram":
            t = self.telegram
            return Channel(
                name, str(ANA.id), {"chat_id": ANA.id},
                lambda text: t.person_says(ANA, text),
                lambda n: t.wait_for_messages(ANA.id, n),
                lambda: t.messages_to(ANA.id),
                lambda: t.fail_next("sendMessage", TelegramError(400, TOO_LONG)),
                TOO_LONG,
            )  # fmt: skip
        if name == "whatsapp":
            w = self.whatsapp
            return Channel(
                name, f"wa:{SANDBOX_PHONE_NUMBER_ID}:{WANDA.wa_id}",
                {"channel": "whatsapp", "wa_id": WANDA.wa_id},
                lambda text: w.person_says(WANDA, text),
                lambda n: w.wait_for_messages(WANDA.wa_id, n),
                lambda: w.messages_to(WANDA.wa_id),
                lambda: w.fail_next(WaForcedError(400, 100, "Invalid parameter")),
                "Invalid parameter",
            )  # fmt: skip
        meta = self.instagram if name == "instagram" else self.messenger
        person = IVY if name == "instagram" else PAUL
        prefix = "ig" if name == "instagram" else "fb"
        return Channel(
            name, f"{prefix}:{meta.shape.account}:{person}",
            {"channel": name, "recipient_id": person},
            lambda text: meta.person_says(person, text),
            lambda n: meta.wait_for_messages(person, n),
            lambda: meta.messages_to(person),
            lambda: meta.fail_next(MetaError(400, 100, "Invalid parameter")),
            "Invalid parameter",
        )  # fmt: skip

    async def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        async with httpx.AsyncClient() as http:
            return await http.post(
                f"{self.ops_url}/{path}", json=body, headers={"Authorization": f"Bearer {TOKEN}"}
            )


@pytest.fixture
async def stand(
    redis_server: RedisServer,
    redis: Redis,
    telegram: TelegramStandIn,
    whatsapp: WhatsAppStandIn,
    backend: ExampleBackend,
    make_settings: SettingsFactory,
    product: Product,
) -> AsyncIterator[Stand]:
    """The bot serving all four channels (ops port with PROACTIVE_TOKEN) and one worker,
    keeping 10 turns of history."""
    instagram, messenger = SendApiStandIn(instagram_shape()), SendApiStandIn(messenger_shape())
    for meta in (instagram, messenger):
        await meta.start()
    for meta in (instagram, messenger):
        meta.echo_sends = False  # the bot's own echoes are another test's subject
    ops_port = free_port()
    env = product_environment(
        redis_server.url, telegram, backend,
        whatsapp=whatsapp, instagram=instagram, messenger=messenger,
        batch_window_seconds=0.3, history_turns=10, proactive_token=TOKEN,
        bot_metrics_port=ops_port,
    )  # fmt: skip
    bot = await ChildProcess.launch([sys.executable, "-m", "bot"], env, b"Meta webhooks: listening")
    worker_env = {name.lower(): value for name, value in env.items() if name.isupper()}
    settings = make_settings(
        **{key: worker_env[key] for key in _WORKER_SETTINGS if key in worker_env},
        history_turns=10,
        reply_pacing_max_seconds=0,
    )
    await product.start_workers(settings)
    yield Stand(telegram, whatsapp, instagram, messenger, f"http://127.0.0.1:{ops_port}")
    code = await bot.stop()
    for meta in (instagram, messenger):
        await meta.stop()
    assert code == 0 and not bot.logged(b"Traceback"), bot.log_tail()


_WORKER_SETTINGS = (
    "whatsapp_access_token", "whatsapp_api_url", "whatsapp_phone_number_id",
    "instagram_access_token", "instagram_account_id", "instagram_api_url",
    "messenger_page_access_token", "messenger_page_id", "messenger_api_url",
)  # fmt: skip

CHANNELS = ["telegram", "whatsapp", "instagram", "messenger"]


async def read_history(redis: Redis, conversation: str) -> list[Turn]:
    kept = await redis.lrange(ConversationKeys(conversation).history, 0, -1)  # type: ignore[misc]
    return [Turn.model_validate_json(item) for item in kept]


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.parametrize("name", CHANNELS)
async def test_a_refused_answer_is_a_dead_letter_with_the_reason_not_a_delivery(
    name: str, stand: Stand, redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    channel = stand.channel(name)
    caplog.set_level(logging.INFO)
    refused_before = _sample("batchbot_reply_parts_refused_total", channel=name)
    dead_before = _sample("batchbot_dead_letters_total", channel=name, cause="refused")
    channel.refuse_next()
    await channel.says("hi, can I book a haircut?")
    async with asyncio.timeout(30):
        while not (letters := await DeadLetters(redis, 3600).newest()):
            await asyncio.sleep(0.05)
    await wait_until_idle(redis)

    assert channel.sent() == []  # the person got nothing ...
    [letter] = letters  # ... and the batch is kept, with the platform's own words
    assert letter.conversation == channel.conversation
    assert f"part 1 of 1 refused by {name}" in letter.reason
    assert channel.refusal in letter.reason
    assert [m.text for m in letter.messages] == ["hi, can I book a haircut?"]
    assert await read_history(redis, channel.conversation) == []  # nothing was said
    assert _sample("batchbot_reply_parts_refused_total", channel=name) == refused_before + 1
    assert _sample("batchbot_dead_letters_total", channel=name, cause="refused") == dead_before + 1
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert ": 0 of 1 parts sent, 1 refused" in logged  # ARQ's summary of the job
    assert "1 of 1 parts sent" not in logged

    # Replayed once the cause is mended: answered, and only now in the history.
    assert await DeadLetters(redis, 3600).replay(letter.batch_id) == 1
    [answer] = await channel.wait_for(1)
    await wait_until_idle(redis)
    turns = await read_history(redis, channel.conversation)
    assert [(t.role, t.text) for t in turns] == [
        ("user", "hi, can I book a haircut?"),
        ("assistant", answer),
    ]


@pytest.mark.parametrize("name", CHANNELS)
async def test_a_proactive_message_waits_while_a_human_has_the_conversation(
    name: str, stand: Stand, redis: Redis
) -> None:
    channel = stand.channel(name)
    await channel.says("is my table ready?")
    await channel.wait_for(1)
    await wait_until_idle(redis)

    if name == "instagram":  # a reply written in Meta's inbox: its echo takes over
        account = stand.instagram.shape.account
        await stand.instagram.deliver_events(echo_event(IVY, account, "Let me check for you"))
    else:
        taken = await stand.post("handoff", {**channel.address, "seconds": 600})
        assert taken.status_code == 200, taken.text
        assert taken.json()["conversation"] == channel.conversation
    handoff = ConversationKeys(channel.conversation).handoff
    paused_until = int(await redis.hget(handoff, "until"))  # type: ignore[misc]
    reminder = {**channel.address, "messages": [{"text": "Your table is ready"}]}
    queued = await stand.post("proactive", reminder)
    assert queued.status_code == 202, queued.text
    body = queued.json()
    assert (body["queued"], body["scheduling"]) == (1, "held")
    held_until = datetime.fromisoformat(body["held_until"])
    assert held_until == datetime.fromtimestamp(paused_until // 1000, UTC)
    # Its job runs when the pause ends, not now.
    run_at = await redis.zscore(QUEUE, BatchJob(channel.conversation).id)
    assert run_at is not None and run_at / 1000 >= held_until.timestamp()
    assert channel.sent() == [channel.sent()[0]]

    # The human hands back: the message goes out, once.
    back = await stand.post("handoff", {**channel.address, "resume": True})
    assert back.json() == {"conversation": channel.conversation, "resumed": True}
    sent = await channel.wait_for(2)
    await wait_until_idle(redis)
    assert sent[1:] == ["Your table is ready"] and len(channel.sent()) == 2
