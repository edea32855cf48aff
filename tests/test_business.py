"""Telegram Business end to end: the Bot API stand-in delivers business updates in the
shapes Telegram documents (a connection, customers' messages, the owner's, the bot's own
echoes, edits and deletions) to the real dispatcher and real workers; what goes out
carries ``business_connection_id``."""

from __future__ import annotations

import asyncio
import logging

import pytest
from redis.asyncio import Redis

from sandbox.example_backend import ExampleBackend
from sandbox.peek import pending_count
from sandbox.telegram_api import Person, TelegramStandIn
from sandbox.telegram_business import Business, business_message, connect, deleted, edited
from shared.keys import ConversationKeys
from tests.conftest import Product, SettingsFactory, wait_until_idle

OWNER = Person(id=5001, first_name="Olga")
SALON = Business(connection_id="BCAAAAbusiness-1", owner=OWNER)
CARL = Person(id=6001, first_name="Carl")
DORA = Person(id=6002, first_name="Dora")
CARL_CONVERSATION = f"biz:{SALON.connection_id}:{CARL.id}"
BAKERY = Business(connection_id="BCAAAAbusiness-2", owner=Person(id=5002, first_name="Bea"))


@pytest.fixture
async def running(make_settings: SettingsFactory, product: Product) -> Product:
    """A 2 s window: each test's updates come in a few getUpdates answers, which a loaded
    machine may space by more than the suite's usual 0.5 s."""
    await product.start(make_settings(batch_window_seconds=2, reply_pacing_max_seconds=0))
    return product


async def test_a_customers_burst_is_answered_once_as_the_business_account(
    running: Product, telegram: TelegramStandIn, backend: ExampleBackend, redis: Redis
) -> None:
    await connect(telegram, SALON)
    for text in ("hello", "can I come at 5?", "for a trim"):
        await telegram.deliver(business_message(telegram, SALON, CARL, text))
    [answer] = await telegram.wait_for_messages(CARL.id, 1)
    await wait_until_idle(redis)

    assert "business_connection" in (telegram.allowed_updates or [])
    assert "business_message" in (telegram.allowed_updates or [])
    [call] = backend.calls
    request = call.request
    assert request.text == "hello\ncan I come at 5?\nfor a trim"
    assert request.business is not None
    assert request.business.connection_id == SALON.connection_id
    assert (request.business.owner.id, request.business.owner.first_name) == (5001, "Olga")
    assert request.user.id == CARL.id and request.chat.id == CARL.id
    assert "3 message(s)" in answer
    [sent] = telegram.sent
    assert sent.business_connection_id == SALON.connection_id
    typing = [a for a in telegram.chat_actions if a.chat_id == CARL.id]
    assert typing and all(a.business_connection_id == SALON.connection_id for a in typing)
    assert telegram.drafts == []  # no drafts through a business connection
    stored = await redis.hgetall(f"business-connection:{SALON.connection_id}")  # type: ignore[misc]
    assert (stored[b"owner_id"], stored[b"enabled"], stored[b"can_reply"]) == (b"5001", b"1", b"1")


async def test_the_bots_own_echoes_and_the_owners_messages_are_not_batched(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    """With takeover off (HANDOFF_SECONDS=0) the owner's message is only left out; with it
    on it pauses the conversation (test_takeover)."""
    await product.start(make_settings(batch_window_seconds=2, handoff_seconds=0))
    await connect(telegram, SALON)
    await telegram.deliver(
        business_message(telegram, SALON, CARL, "hi, any slot today?"),
        business_message(telegram, SALON, CARL, "Yes, at 5!", by_the_bot=True),
        business_message(telegram, SALON, CARL, "I'll take care of you myself", by=OWNER),
    )
    await telegram.wait_for_messages(CARL.id, 1)
    await wait_until_idle(redis)

    [call] = backend.calls
    assert [m.text for m in call.request.messages] == ["hi, any slot today?"]


@pytest.mark.parametrize("state", [{"enabled": False}, {"can_reply": False}])
async def test_a_disabled_connection_or_one_without_reply_rights_answers_nothing(
    running: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
    state: dict[str, bool],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Messages stored before the connection changed are dropped at their deadline, never
    sent to the backend; later ones are not stored."""
    caplog.set_level(logging.INFO)
    await connect(telegram, SALON)
    await connect(telegram, BAKERY)  # another business, whose customer is still answered
    await telegram.deliver(business_message(telegram, SALON, CARL, "before the change"))
    await connect(telegram, SALON, **state)
    after = business_message(telegram, SALON, CARL, "after the change")
    await telegram.deliver(after)
    await telegram.deliver(business_message(telegram, BAKERY, DORA, "still there?"))
    await telegram.wait_for_messages(DORA.id, 1)
    await wait_until_idle(redis)

    assert [c.request.text for c in backend.calls] == ["still there?"]
    assert telegram.messages_to(CARL.id) == []
    # The later message was never stored: its id is not among those the conversation saw.
    seen = await redis.hget(ConversationKeys(CARL_CONVERSATION).info, "seen")  # type: ignore[misc]
    assert str(after["business_message"]["message_id"]).encode() not in (seen or b"").split()
    assert not await redis.exists(ConversationKeys(CARL_CONVERSATION).batch)
    why = "is disabled" if "enabled" in state else "may not reply"
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert f"connection {SALON.connection_id} {why}" in logged


async def test_an_edit_replaces_and_a_deletion_removes_the_pending_copy(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The edit and the deletion come once both messages are stored (the bot handles one
    getUpdates answer's updates side by side, so not in the same one), well within 3 s."""
    caplog.set_level(logging.INFO)
    await product.start(make_settings(batch_window_seconds=3))
    await connect(telegram, SALON)
    first = business_message(telegram, SALON, CARL, "tomorow at 5?")
    second = business_message(telegram, SALON, CARL, "nevermind, ignore me")
    await telegram.deliver(first, second)
    async with asyncio.timeout(10):  # both stored before the edit and the deletion come
        while await pending_count(redis, CARL_CONVERSATION) < 2:
            await asyncio.sleep(0.02)
    await telegram.deliver(
        edited(telegram, first, "tomorrow at 5?"),
        deleted(telegram, SALON, CARL, second["business_message"]["message_id"]),
    )
    await telegram.wait_for_messages(CARL.id, 1)
    await wait_until_idle(redis)

    [call] = backend.calls
    assert [m.text for m in call.request.messages] == ["tomorrow at 5?"]
    assert "removed its pending copy" in caplog.text
    # A deletion through a connection this bot never heard of says just that.
    await telegram.deliver(deleted(telegram, BAKERY, CARL, 424242))
    async with asyncio.timeout(10):
        while "unknown to this bot" not in caplog.text:
            await asyncio.sleep(0.02)
    assert f"connection {BAKERY.connection_id} is unknown to this bot" in caplog.text
    assert "batch went" not in caplog.text
    assert not await redis.exists(ConversationKeys(CARL_CONVERSATION).batch)
