"""Instagram Direct and Facebook Messenger end to end: ``python -m bot`` serving both on the
Meta listener (no Telegram), real workers, real redis-server, and a Send API stand-in per
platform over HTTP in both directions (signed webhook deliveries in, sends out)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from channels.meta.send_api import OUR_METADATA
from sandbox.environment import meta_app_environment
from sandbox.example_backend import ExampleBackend
from sandbox.launcher import ChildProcess
from sandbox.messaging_wire import (
    attachments_event,
    deleted_event,
    delivery_json,
    echo_event,
    text_event,
)
from sandbox.redis_server import RedisServer, free_port
from sandbox.send_api import SendApiStandIn, instagram_shape, messenger_shape
from sandbox.whatsapp_api import SANDBOX_VERIFY_TOKEN
from shared.keys import ConversationKeys
from shared.models import BatchRequest, BatchResponse, OutgoingMessage
from tests.conftest import Product, SettingsFactory, settings_environment, wait_until_idle
from worker.settings import WorkerProcessSettings

IVY = "6100000000000001"  # an Instagram-scoped id (IGSID)
PAUL = "7200000000000001"  # a Page-scoped id (PSID)


@dataclass
class Meta:
    """Both platforms' stand-ins and the bot's listener in front of them."""

    instagram: SendApiStandIn
    messenger: SendApiStandIn
    port: int = 0

    def of(self, channel: str) -> SendApiStandIn:
        return self.instagram if channel == "instagram" else self.messenger

    def person(self, channel: str) -> str:
        return IVY if channel == "instagram" else PAUL


@pytest.fixture
async def meta() -> AsyncIterator[Meta]:
    stand_ins = Meta(SendApiStandIn(instagram_shape()), SendApiStandIn(messenger_shape()))
    for stand_in in (stand_ins.instagram, stand_ins.messenger):
        await stand_in.start()
    yield stand_ins
    for stand_in in (stand_ins.instagram, stand_ins.messenger):
        await stand_in.stop()


@pytest.fixture
def meta_settings(make_settings: SettingsFactory, meta: Meta) -> SettingsFactory:
    """Settings with Instagram and Messenger as the only channels."""

    def factory(**overrides: Any) -> WorkerProcessSettings:
        values: dict[str, Any] = {
            "bot_token": None,
            "instagram_access_token": meta.instagram.shape.access_token,
            "instagram_account_id": meta.instagram.shape.account,
            "instagram_api_url": meta.instagram.api_url,
            "messenger_page_access_token": meta.messenger.shape.access_token,
            "messenger_page_id": meta.messenger.shape.account,
            "messenger_api_url": meta.messenger.api_url,
        }
        return make_settings(**{**values, **overrides})

    return factory


async def start_meta_bot(
    settings: WorkerProcessSettings, meta: Meta, started: list[ChildProcess], **bot_only: str
) -> ChildProcess:
    meta.port = free_port()
    env = {
        **os.environ,
        **settings_environment(settings),
        **meta_app_environment(meta.port),
        **bot_only,
    }
    bot = await ChildProcess.launch([sys.executable, "-m", "bot"], env, b"Meta webhooks: listening")
    started.append(bot)
    for name in ("instagram", "messenger"):
        meta.of(name).webhook_url = f"http://127.0.0.1:{meta.port}/webhook/{name}"
    return bot


@pytest.fixture
async def running(
    meta_settings: SettingsFactory,
    meta: Meta,
    product: Product,
    bot_process: list[ChildProcess],
) -> Meta:
    settings = meta_settings(reply_pacing_max_seconds=0)
    await start_meta_bot(settings, meta, bot_process)
    await product.start_workers(settings)
    return meta


CHANNELS = ["instagram", "messenger"]


@pytest.mark.parametrize("channel", CHANNELS)
async def test_a_burst_is_one_backend_call_and_one_answer_from_the_account(
    channel: str, running: Meta, backend: ExampleBackend, redis: Redis
) -> None:
    stand_in, person = running.of(channel), running.person(channel)
    account = stand_in.shape.account
    first = text_event(person, account, "hi")
    photos = attachments_event(person, account, ("image", "https://cdn.example/a.jpg"),
                               ("image", "https://cdn.example/b.jpg"))  # fmt: skip
    last = text_event(person, account, "which one suits me?")
    for event in (first, photos, last):
        await stand_in.deliver_events(event)

    [answer] = await stand_in.wait_for_messages(person, 1)
    await wait_until_idle(redis)

    [call] = backend.calls
    request = call.request
    assert request.channel == channel
    assert (request.chat.id, request.user.id) == (person, person)
    assert [m.kind.value for m in request.messages] == ["text", "photo", "photo", "text"]
    mid = photos["message"]["mid"]
    assert [m.message_id for m in request.messages][1:3] == [mid, f"{mid}/2"]
    assert request.messages[2].url == "https://cdn.example/b.jpg"
    assert request.messages[1].media_group_id == mid
    assert request.text == "hi\nwhich one suits me?"
    assert "4 message(s)" in answer
    [sent] = stand_in.sent
    assert sent.account == account
    assert (person, "typing_on") in stand_in.actions  # shown while the backend worked
    prefix = "ig" if channel == "instagram" else "fb"
    assert not await redis.exists(ConversationKeys(f"{prefix}:{account}:{person}").batch)


@pytest.mark.parametrize("channel", CHANNELS)
async def test_verification_signature_and_bodies_that_are_not_deliveries(
    channel: str, running: Meta, redis: Redis
) -> None:
    url = running.of(channel).webhook_url
    async with httpx.AsyncClient() as client:
        ok = await client.get(url, params={"hub.mode": "subscribe", "hub.challenge": "1158201444",
                                           "hub.verify_token": SANDBOX_VERIFY_TOKEN})  # fmt: skip
        wrong = await client.get(url, params={"hub.mode": "subscribe", "hub.challenge": "1",
                                              "hub.verify_token": "not-it"})  # fmt: skip
    assert (ok.status_code, ok.text) == (200, "1158201444")
    assert wrong.status_code == 403
    stand_in, person = running.of(channel), running.person(channel)
    delivery = delivery_json(stand_in.shape.object, stand_in.shape.account,
                             text_event(person, stand_in.shape.account, "let me in"))  # fmt: skip
    assert await stand_in.deliver(delivery, signature="sha256=" + "0" * 64) == 401
    assert await stand_in.deliver(delivery, signature="") == 401
    other = "page" if channel == "instagram" else "instagram"
    assert await stand_in.deliver({**delivery, "object": other}) == 400
    assert await stand_in.deliver(b"{not json") == 400
    assert [key async for key in redis.scan_iter(match="batch:*")] == []


@pytest.mark.parametrize("channel", CHANNELS)
async def test_a_redelivery_an_echo_and_a_deleted_message_are_not_batched(
    channel: str, running: Meta, backend: ExampleBackend, redis: Redis
) -> None:
    """Meta delivers again what it thinks went unanswered: stored once. An echo (what the
    account sent) is never a message of the person's; an unsent message leaves its batch."""
    stand_in, person = running.of(channel), running.person(channel)
    account = stand_in.shape.account
    keep = text_event(person, account, "a table for two")
    oops = text_event(person, account, "at 9 sharp, you idiots")
    echo = echo_event(person, account, "We have a table at 8", metadata=OUR_METADATA)
    both = delivery_json(stand_in.shape.object, account, keep, echo, oops)
    assert await stand_in.deliver(both) == 200
    assert await stand_in.deliver(both) == 200  # Meta's redelivery
    await stand_in.deliver_events(deleted_event(person, account, oops["message"]["mid"]))
    await stand_in.wait_for_messages(person, 1)
    await wait_until_idle(redis)

    [call] = backend.calls
    assert [m.text for m in call.request.messages] == ["a table for two"]


@pytest.mark.parametrize(("channel", "limit"), [("instagram", 1000), ("messenger", 2000)])
async def test_a_long_answer_is_split_within_the_platforms_limit(
    channel: str, limit: int, running: Meta, backend: ExampleBackend, redis: Redis
) -> None:
    """Instagram counts 1,000 bytes of UTF-8 (Cyrillic is two bytes a letter), Messenger
    2,000 characters; the stand-ins refuse anything longer, as Meta does."""
    words = " ".join(["привет"] * 600) if channel == "instagram" else " ".join(["hello"] * 900)

    async def essay(request: BatchRequest) -> BatchResponse:
        return BatchResponse(messages=[OutgoingMessage(text=words)])

    backend.answerer = essay
    stand_in, person = running.of(channel), running.person(channel)
    await stand_in.person_says(person, "tell me everything")
    await wait_until_idle(redis)

    sent = stand_in.messages_to(person)
    assert " ".join(sent) == words
    if channel == "instagram":
        assert len(sent) == 8 and all(len(part.encode()) <= limit for part in sent)
    else:
        assert len(sent) == 3 and all(len(part) <= limit for part in sent)


async def test_proactive_messages_and_batchctl_on_instagram_and_messenger(
    meta_settings: SettingsFactory,
    meta: Meta,
    redis_server: RedisServer,
    product: Product,
    redis: Redis,
    bot_process: list[ChildProcess],
) -> None:
    settings, token, metrics_port = meta_settings(), "p" * 16, free_port()
    await start_meta_bot(
        settings, meta, bot_process, PROACTIVE_TOKEN=token, BOT_METRICS_PORT=str(metrics_port)
    )
    await meta.instagram.person_says(IVY, "is my order shipped?")  # pending: no worker yet
    conversation = f"ig:{meta.instagram.shape.account}:{IVY}"
    env = {**os.environ, "REDIS_URL": redis_server.url}
    inspect = [sys.executable, "-m", "batchctl", "inspect"]
    listing, detail = await asyncio.gather(
        asyncio.to_thread(_run, inspect, env),
        asyncio.to_thread(_run, [*inspect, conversation], env),
    )
    assert any(
        line.split()[:2] == ["instagram", conversation] for line in listing.stdout.splitlines()
    )
    shown = json.loads(detail.stdout)
    assert shown["channel"] == "instagram"
    assert [m["text"] for m in shown["pending"]] == ["is my order shipped?"]

    proactive = f"http://127.0.0.1:{metrics_port}/proactive"
    auth = {"Authorization": f"Bearer {token}"}
    message = {"messages": [{"text": "Your order is on its way."}]}
    async with httpx.AsyncClient() as http:
        queued = await http.post(
            proactive, headers=auth, json={"channel": "messenger", "recipient_id": PAUL, **message}
        )
        missing = await http.post(proactive, headers=auth, json={"channel": "instagram", **message})
    assert queued.status_code == 202, queued.text
    assert missing.status_code == 400 and "recipient_id" in missing.json()["error"]

    await product.start_workers(settings)
    assert await meta.messenger.wait_for_messages(PAUL, 1) == ["Your order is on its way."]
    assert len(await meta.instagram.wait_for_messages(IVY, 1)) == 1
    await wait_until_idle(redis)


def _run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, env=env, capture_output=True, text=True, check=True)


@pytest.mark.parametrize("channel", CHANNELS)
async def test_the_bots_own_echoes_never_pause_a_person_of_the_business_does(
    channel: str, running: Meta, backend: ExampleBackend, redis: Redis
) -> None:
    """The stand-in echoes every message the bot sends, as Meta does, with the metadata it
    was sent with: the person is answered again and again. A reply written in Meta's inbox
    (an echo without batchbot's metadata) takes the conversation over."""
    stand_in, person = running.of(channel), running.person(channel)
    account = stand_in.shape.account
    conversation = f"{'ig' if channel == 'instagram' else 'fb'}:{account}:{person}"
    handoff = ConversationKeys(conversation).handoff
    await stand_in.person_says(person, "do you have it in blue?")
    await stand_in.wait_for_messages(person, 1)
    await stand_in.person_says(person, "and in red?")
    await stand_in.wait_for_messages(person, 2)
    await stand_in.echoes_delivered()  # the second answer's echo too, not only the first's
    await wait_until_idle(redis)
    assert not await redis.exists(handoff)

    human = echo_event(person, account, "Let me check the stock for you")
    await stand_in.deliver_events(human)  # the webhook answers once it is stored
    assert await redis.exists(handoff)
    await stand_in.deliver_events(human)  # Meta's redelivery of the same echo (its mid)
    await stand_in.person_says(person, "thanks, I'll wait")
    held = ConversationKeys(conversation).held
    items = [json.loads(item) for item in await redis.lrange(held, 0, -1)]  # type: ignore[misc]
    # The human's turn once, then the person's message: a redelivered echo is held once.
    assert [item.get("role") for item in items] == ["assistant", None]
    assert len(backend.received) == 2 and len(stand_in.messages_to(person)) == 2
