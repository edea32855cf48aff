"""Albums stay whole, and a kind can have a window of its own."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from bot.settings import BotSettings
from sandbox.example_backend import ExampleBackend
from sandbox.peek import pending_count
from sandbox.telegram_api import Person, TelegramStandIn
from shared.keys import ConversationKeys
from shared.models import Chat, IncomingMessage, MessageKind, User
from shared.rules import BatchingRules
from shared.settings import ConfigError, load_settings
from shared.store import BatchStore
from tests.conftest import Product, SettingsFactory, wait_until_idle

KAI = Person(id=7207, first_name="Kai")


async def until_pending(redis: Redis, count: int) -> None:
    async with asyncio.timeout(30):
        while await pending_count(redis, str(KAI.id)) < count:
            await asyncio.sleep(0.02)


async def test_an_album_that_straddles_the_max_wait_arrives_in_one_batch_with_its_text(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    settings = make_settings(
        batch_window_seconds=1.0, batch_max_wait_seconds=1.0, batch_album_grace_seconds=1.5
    )
    await product.start(settings)
    await telegram.person_says(KAI, "look at these")
    await until_pending(redis, 1)  # the batch is due 1.0 s from now, at the latest
    # The person's phone uploads the album slowly: the first photo comes within the
    # batch's max wait, the second 0.4 s after it is over, the third 0.3 s later.
    await asyncio.sleep(0.6)
    await telegram.person_says(KAI, photo="p1", media_group_id="A1")
    await asyncio.sleep(0.8)
    await telegram.person_says(KAI, photo="p2", media_group_id="A1")
    await asyncio.sleep(0.3)
    await telegram.person_says(KAI, photo="p3", caption="the blue one", media_group_id="A1")
    await telegram.wait_for_messages(KAI.id, 1)
    await wait_until_idle(redis)

    [batch] = backend.received
    assert [m.kind for m in batch.messages] == [MessageKind.TEXT] + [MessageKind.PHOTO] * 3
    assert [m.file_id for m in batch.messages[1:]] == ["p1", "p2", "p3"]
    assert {m.media_group_id for m in batch.messages[1:]} == {"A1"}
    assert batch.text == "look at these\nthe blue one"


async def test_a_batch_cut_at_max_messages_takes_the_rest_of_its_album(redis: Redis) -> None:
    store = BatchStore(redis, 86400)
    for message_id, group in ((1, None), (2, "G"), (3, "G"), (4, "G"), (5, None)):
        await store.append(
            "9",
            Chat(id=9, type="private"),
            User(id=9, first_name="Al"),
            IncomingMessage(
                message_id=message_id,
                date=datetime.now(UTC),
                kind=MessageKind.PHOTO if group else MessageKind.TEXT,
                file_id=f"f{message_id}",
                media_group_id=group,
            ),
            BatchingRules(
                window_ms=60_000,
                max_wait_ms=60_000,
                max_messages=2,
                max_pending_messages=200,
                max_pending_bytes=1_000_000,
                max_message_bytes=65_536,
                album_grace_ms=1500,
            ),
        )
    await redis.hset(ConversationKeys("9").info, "deadline", "0")  # type: ignore[misc]
    claimed = (
        await store.claim("9", max_messages=2, recheck_after_ms=60_000, lease_ms=60_000)
    ).batch
    assert claimed is not None
    assert [m.message_id for m in claimed.request.messages] == [1, 2, 3, 4]
    assert await pending_count(redis, "9") == 1


async def test_a_photo_can_have_a_longer_window_than_text(
    make_settings: SettingsFactory, product: Product, telegram: TelegramStandIn, redis: Redis
) -> None:
    settings = make_settings(batch_window_seconds=0.5, batch_window_by_kind={"photo": 4})
    await product.start_bot(settings)
    await telegram.person_says(KAI, photo="p1")
    await until_pending(redis, 1)
    info = await redis.hgetall(ConversationKeys(str(KAI.id)).info)  # type: ignore[misc]
    assert int(info[b"deadline"]) - int(info[b"first_at"]) == 4000


def test_kind_windows_are_read_as_json_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", "123:abc")
    monkeypatch.setenv("BATCH_WINDOW_BY_KIND", '{"photo": 20, "video": 30}')
    rules = load_settings(BotSettings).batching_rules()
    assert rules.window_ms_for(MessageKind.VIDEO) == 30_000
    assert rules.window_ms_for(MessageKind.TEXT) == rules.window_ms
    monkeypatch.setenv("BATCH_WINDOW_BY_KIND", '{"selfie": 20}')
    with pytest.raises(ConfigError, match="BATCH_WINDOW_BY_KIND"):
        load_settings(BotSettings)
