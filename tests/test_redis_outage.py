"""Redis goes away and comes back (with its data): every message is answered, no worker dies."""

from __future__ import annotations

import asyncio

import pytest

from sandbox.example_backend import ExampleBackend
from sandbox.redis_server import RedisServer
from sandbox.telegram_api import Person, TelegramStandIn
from tests.conftest import Product, SettingsFactory

GUS = Person(id=8008, first_name="Gus")


async def wait_for_log(caplog: pytest.LogCaptureFixture, text: str, count: int) -> None:
    async with asyncio.timeout(20):
        while sum(text in r.getMessage() for r in caplog.records) < count:
            await asyncio.sleep(0.02)


async def test_messages_sent_while_redis_is_down_are_answered_when_it_is_back(
    durable_redis: RedisServer,  # first, so it outlives the product at teardown
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = make_settings(redis_url=durable_redis.url, redis_outage_tolerance_seconds=30)
    await product.start(settings)
    await telegram.person_says(GUS, "before")
    await telegram.wait_for_messages(GUS.id, 1)

    durable_redis.stop()
    await telegram.person_says(GUS, "during one")
    await telegram.person_says(GUS, "during two")
    await wait_for_log(caplog, "could not store message", 2)  # the bot holds both
    durable_redis.start()

    await telegram.wait_for_messages(GUS.id, 2, timeout_seconds=30)
    assert [[m.text for m in c.request.messages] for c in backend.calls] == [
        ["before"],
        ["during one", "during two"],
    ]
    assert product.crashed() == []
