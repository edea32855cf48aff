"""Group chats: a batch per person, answered only when meant for the bot, as a reply."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from sandbox.example_backend import ExampleBackend
from sandbox.peek import pending_messages
from sandbox.telegram_api import BOT_USER, Person, TelegramStandIn
from tests.conftest import Product, SettingsFactory, wait_until_idle

GROUP = -100777
MIA = Person(id=9301, first_name="Mia")
NED = Person(id=9302, first_name="Ned")
HANDLE = f"@{BOT_USER['username']}"


async def says(telegram: TelegramStandIn, person: Person, text: str, **details: object) -> int:
    update = await telegram.person_says(
        person,
        text,
        chat_id=GROUP,
        chat_type="supergroup",
        **details,
    )
    message_id: int = update["message"]["message_id"]
    return message_id


async def test_in_a_group_only_batches_meant_for_the_bot_are_answered_as_replies(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    settings = make_settings()
    await product.start(settings)

    await says(telegram, MIA, "morning all")
    async with asyncio.timeout(30):  # stored, then its batch claimed and let go
        while not await redis.hexists(f"batch-info:{GROUP}:{MIA.id}", "seen"):  # type: ignore[misc]
            await asyncio.sleep(0.02)
    await wait_until_idle(redis)
    assert backend.received == []  # chatter among people: not the bot's business

    await says(telegram, MIA, f"{HANDLE} can I book")
    last = await says(telegram, MIA, "a haircut")
    [answer] = await telegram.wait_for_messages(GROUP, 1)
    await wait_until_idle(redis)
    [batch] = backend.received
    assert [(m.text, m.addresses_bot) for m in batch.messages] == [
        (f"{HANDLE} can I book", True),
        ("a haircut", False),
    ]
    assert telegram.sent[0].reply_to == last
    assert "Mia" in answer

    bots_message = telegram.sent[0].message_id
    thanks = await says(telegram, NED, "is there room for me too?", reply_to_bot=bots_message)
    await telegram.wait_for_messages(GROUP, 2)
    await wait_until_idle(redis)
    assert [b.user.id for b in backend.received] == [MIA.id, NED.id]  # one batch per person
    assert telegram.sent[1].reply_to == thanks


async def test_group_answer_when_always_answers_every_batch(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    settings = make_settings(group_answer_when="always")
    await product.start(settings)
    await says(telegram, MIA, "morning all")
    await telegram.wait_for_messages(GROUP, 1)
    await wait_until_idle(redis)
    [batch] = backend.received
    assert batch.messages[0].addresses_bot is False


async def test_an_edited_message_that_mentions_the_bot_still_gets_its_batch_answered(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    settings = make_settings(batch_window_seconds=1.5)
    await product.start(settings)
    original = await telegram.person_says(
        MIA, f"{HANDLE} can I book", chat_id=GROUP, chat_type="supergroup"
    )
    conversation = f"{GROUP}:{MIA.id}"
    async with asyncio.timeout(30):
        while not await pending_messages(redis, conversation):
            await asyncio.sleep(0.02)
    await telegram.deliver(telegram.edit(original, f"{HANDLE} can I book for two"))
    async with asyncio.timeout(30):
        while (await pending_messages(redis, conversation))[
            0
        ].text != f"{HANDLE} can I book for two":
            await asyncio.sleep(0.02)
    await telegram.wait_for_messages(GROUP, 1)
    await wait_until_idle(redis)
    [batch] = backend.received
    assert [(m.text, m.addresses_bot) for m in batch.messages] == [
        (f"{HANDLE} can I book for two", True)
    ]
