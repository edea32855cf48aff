"""/start and /clear are answered by the bot; other commands go to the backend as text."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from bot.settings import BotSettings
from sandbox.example_backend import ExampleBackend
from sandbox.peek import pending_count
from sandbox.telegram_api import Person, TelegramStandIn
from shared import arq_layout
from shared.keys import PENDING_INDEX
from tests.conftest import Product, SettingsFactory, wait_until_idle

IDA = Person(id=6106, first_name="Ida")
GREETING = BotSettings.model_fields["start_greeting"].default
CLEARED = BotSettings.model_fields["clear_reply"].default


async def until_pending(redis: Redis, conversation: str, count: int) -> None:
    async with asyncio.timeout(30):
        while await pending_count(redis, conversation) < count:
            await asyncio.sleep(0.02)


async def test_start_is_greeted_by_the_bot_and_never_batched(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    settings = make_settings()
    await product.start(settings)
    await telegram.person_says(IDA, "/start")
    assert await telegram.wait_for_messages(IDA.id, 1) == [GREETING]
    assert await redis.zcard(PENDING_INDEX) == 0
    assert backend.received == []


async def test_clear_drops_the_pending_burst_and_its_job(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    settings = make_settings(batch_window_seconds=3.0)
    await product.start(settings)
    await telegram.person_says(IDA, "book me for friday")
    await telegram.person_says(IDA, "no wait")
    await until_pending(redis, str(IDA.id), 2)
    assert await redis.zscore(arq_layout.QUEUE, arq_layout.batch_job_id(str(IDA.id)))

    await telegram.person_says(IDA, "/clear")
    assert await telegram.wait_for_messages(IDA.id, 1) == [CLEARED]
    assert await pending_count(redis, str(IDA.id)) == 0
    assert await redis.zcard(PENDING_INDEX) == 0
    assert await redis.zcard(arq_layout.QUEUE) == 0

    await telegram.person_says(IDA, "saturday then")
    replies = await telegram.wait_for_messages(IDA.id, 2)
    await wait_until_idle(redis)
    assert [request.text for request in backend.received] == ["saturday then"]
    assert len(replies) == 2


async def test_other_commands_go_to_the_backend_with_the_burst(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    settings = make_settings()
    await product.start(settings)
    await telegram.person_says(IDA, "/menu")
    await telegram.wait_for_messages(IDA.id, 1)
    await wait_until_idle(redis)
    assert [request.text for request in backend.received] == ["/menu"]
