"""Invariant 4: bad input gets a clear outcome, never a crash, and nothing is lost."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiohttp import web
from redis.asyncio import Redis

from backend_client import BackendClient, PermanentBackendError
from sandbox.example_backend import ExampleBackend
from sandbox.redis_server import RedisServer
from sandbox.telegram_api import ForcedError, Person, TelegramStandIn
from shared.keys import DEAD_LETTERS_INDEX, dead_letter_key
from shared.logs import describe
from shared.models import BatchRequest, Chat, IncomingMessage, MessageKind, User
from shared.states import Refusal
from tests.conftest import Product, SettingsFactory, run_batchctl, wait_until_idle

DEE = Person(id=4004, first_name="Dee")


@pytest.fixture
async def html_backend() -> AsyncIterator[str]:
    """A misconfigured backend: a web page where JSON belongs, as proxies often serve."""

    async def page(request: web.Request) -> web.Response:
        return web.Response(
            text="<html><body>502 from the proxy</body></html>", content_type="text/html"
        )

    app = web.Application()
    app.router.add_post("/webhook/batch", page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/webhook/batch"
    await runner.cleanup()


async def test_a_backend_answering_html_dead_letters_the_batch_with_the_reason(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    redis: Redis,
    html_backend: str,
) -> None:
    settings = make_settings(backend_url=html_backend)
    await product.start(settings)

    await telegram.person_says(DEE, "hello")
    await telegram.person_says(DEE, "is this thing on?")
    async with asyncio.timeout(20):
        while not await redis.zcard(DEAD_LETTERS_INDEX):
            await asyncio.sleep(0.02)
    await wait_until_idle(redis)

    [batch_id] = [b.decode() for b in await redis.zrange(DEAD_LETTERS_INDEX, 0, -1)]
    stored: dict[bytes, bytes] = await redis.hgetall(dead_letter_key(batch_id))  # type: ignore[misc]
    letter = {k.decode(): v.decode() for k, v in stored.items()}
    assert letter["reason"].startswith(
        "backend answered 200 but breaks the contract at the top: Invalid JSON"
    )
    assert "502 from the proxy" in letter["reason"]
    assert '"text":"hello"' in letter["messages"]
    assert '"text":"is this thing on?"' in letter["messages"]
    assert telegram.messages_to(DEE.id) == [settings.backend_failure_reply]


async def test_a_person_who_blocked_the_bot_gets_no_retries(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    telegram.fail_next("sendMessage", ForcedError(403, "Forbidden: bot was blocked by the user"))
    settings = make_settings()
    await product.start(settings)

    await telegram.person_says(DEE, "bye")
    await backend.wait_for_answered_messages(1)
    await wait_until_idle(redis)

    assert len(backend.calls) == 1
    # A retry would have gone through (only one failure was forced) and shown up here.
    assert telegram.messages_to(DEE.id) == []
    # The batch is kept, saying why, for an operator to replay once the person is back.
    [batch_id] = [b.decode() for b in await redis.zrange(DEAD_LETTERS_INDEX, 0, -1)]
    reason = await redis.hget(dead_letter_key(batch_id), "reason")  # type: ignore[misc]
    assert b"blocked the bot" in reason


async def test_updates_and_messages_the_bot_does_not_handle_do_not_stop_it(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    settings = make_settings()
    await product.start(settings)

    edited = telegram.compose(DEE, "edited text")
    edited["edited_message"] = {**edited.pop("message"), "edit_date": int(time.time())}
    channel_post = telegram.compose(DEE, "a channel post", chat_id=-1009, chat_type="channel")
    del channel_post["message"]["from"]
    dice = telegram.compose(DEE)
    dice["message"]["dice"] = {"emoji": "🎲", "value": 3}
    after = telegram.compose(DEE, "still there?")
    await telegram.deliver(edited, channel_post, dice, after)

    await telegram.wait_for_messages(DEE.id, 1)
    await wait_until_idle(redis)
    [call] = backend.calls
    assert [(m.kind.value, m.content_type, m.text) for m in call.request.messages] == [
        ("other", "dice", None),
        ("text", None, "still there?"),
    ]


async def test_a_flood_past_the_cap_is_refused_with_a_log_line(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = make_settings(batch_window_seconds=1.0, batch_max_pending_messages=2)
    await product.start(settings)

    flood = [telegram.compose(DEE, f"spam {n}") for n in range(5)]
    await telegram.deliver(*flood)

    await telegram.wait_for_messages(DEE.id, 1)
    await wait_until_idle(redis)
    [call] = backend.calls
    stored = {m.message_id for m in call.request.messages}
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    refused = {int(line.split()[1]) for line in refusals}  # "message <id> of <conversation> ..."
    assert len(stored) == 2
    assert all("too-many-pending" in line for line in refusals)
    assert all("see BATCH_MAX_PENDING_MESSAGES" in line for line in refusals)
    assert stored | refused == {u["message"]["message_id"] for u in flood}
    assert not stored & refused


def test_each_refusal_names_the_setting_to_change() -> None:
    assert Refusal.MESSAGE_TOO_LARGE.setting == "MESSAGE_MAX_BYTES"
    assert Refusal.TOO_MANY_PENDING.setting == "BATCH_MAX_PENDING_MESSAGES"
    assert Refusal.TOO_MANY_PENDING_BYTES.setting == "BATCH_MAX_PENDING_BYTES"


def test_a_silent_timeout_is_described_by_how_long_was_waited() -> None:
    assert describe(TimeoutError(), 2.0) == "no answer within 2s"
    assert describe(ConnectionRefusedError(111, "Connection refused"), 2.0) == (
        "ConnectionRefusedError: [Errno 111] Connection refused"
    )


async def test_a_body_that_breaks_the_contract_is_refused_naming_the_field_and_unknown_keys(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    redis: Redis,
    redis_server: RedisServer,
) -> None:
    bodies = iter(
        [
            {"messages": [{"text": "fine"}, {"parse_mode": "HTML"}]},
            {"messages": [{"txt": "hi"}]},
        ]
    )

    async def answer(request: web.Request) -> web.Response:
        return web.json_response(next(bodies))

    app = web.Application()
    app.router.add_post("/batch", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/batch"
    client = BackendClient(url, 5)
    request = BatchRequest.build(
        "b1",
        Chat(id=1, type="private"),
        User(id=1, first_name="Dee"),
        [IncomingMessage(message_id=1, date=datetime.now(UTC), kind=MessageKind.TEXT, text="hi")],
    )
    try:
        with pytest.raises(PermanentBackendError) as refused:
            await client.answer(request)
        assert str(refused.value).startswith(  # parse_mode is known: no unknown key to name
            "backend answered 200 but breaks the contract at messages.1: a message needs text"
        ), refused.value

        await product.start(make_settings(backend_url=url))
        await telegram.person_says(DEE, "hello")
        await telegram.wait_for_messages(DEE.id, 1)  # the apology
        await wait_until_idle(redis)
    finally:
        await client.aclose()
        await runner.cleanup()
    listed = await run_batchctl(redis_server.url, "dead-letters", "list")
    line = listed.splitlines()[0]
    assert "at messages.0: unknown key(s) 'txt'; a message needs text, a photo" in line, line
