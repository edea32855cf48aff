"""Webhook mode: 401 to a wrong secret, stored once per update, 503 while Redis is down so
Telegram redelivers, and the redelivered update answered once Redis is back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiohttp import web
from redis.asyncio import Redis

from bot.intake import StoringIntake, batch_store
from bot.settings import BotSettings
from channels.telegram import make_bot
from channels.telegram.receiver.dispatcher import make_dispatcher
from channels.telegram.receiver.webhook import make_webhook_app
from sandbox.example_backend import ExampleBackend
from sandbox.redis_server import RedisServer
from sandbox.telegram_api import Person, TelegramStandIn
from tests.conftest import Product, SettingsFactory, wait_until_idle

HAL = Person(id=9009, first_name="Hal")
SECRET = "s3cret-token_for-tests"


@pytest.fixture
async def webhook(durable_redis: RedisServer, make_settings: SettingsFactory) -> AsyncIterator[str]:
    """The bot's webhook server on loopback; yields the URL Telegram would post to."""
    worker_settings = make_settings(redis_url=durable_redis.url)
    webhook_mode = {
        "webhook_url": "https://bot.example/telegram/hook",
        "webhook_secret": SECRET,
        "webhook_store_timeout_seconds": 1,
    }
    settings = BotSettings(**{**worker_settings.model_dump(), **webhook_mode})
    redis = Redis.from_url(settings.redis_url)
    bot = make_bot(settings)
    intake = StoringIntake.of(batch_store(redis, settings), settings)
    app = make_webhook_app(make_dispatcher(intake, settings), bot, settings)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/telegram/hook"
    await runner.cleanup()
    await bot.session.close()
    await redis.aclose()


async def post(url: str, update: dict[str, Any], secret: str = SECRET) -> int:
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(
            url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret}
        )
    return response.status_code


async def test_webhook_refuses_a_wrong_secret_and_stores_duplicates_once(
    durable_redis: RedisServer,
    webhook: str,
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
) -> None:
    await product.start_workers(make_settings(redis_url=durable_redis.url))
    forged = telegram.compose(HAL, "forged")
    assert await post(webhook, forged, secret="guess") == 401
    hello = telegram.compose(HAL, "hello")
    assert await post(webhook, hello) == 200
    assert await post(webhook, hello) == 200  # Telegram delivering the same update again

    await telegram.wait_for_messages(HAL.id, 1)
    redis = Redis.from_url(durable_redis.url)
    await wait_until_idle(redis)
    await redis.aclose()
    assert [[m.text for m in c.request.messages] for c in backend.calls] == [["hello"]]


async def test_webhook_answers_503_while_redis_is_down_and_the_redelivery_is_answered(
    durable_redis: RedisServer,
    webhook: str,
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
) -> None:
    await product.start_workers(
        make_settings(redis_url=durable_redis.url, redis_outage_tolerance_seconds=30)
    )
    update = telegram.compose(HAL, "are you there?")
    durable_redis.stop()
    assert await post(webhook, update) == 503
    durable_redis.start()
    assert await post(webhook, update) == 200  # Telegram's redelivery

    await telegram.wait_for_messages(HAL.id, 1)
    assert [[m.text for m in c.request.messages] for c in backend.calls] == [["are you there?"]]


def test_webhook_mode_without_a_secret_is_refused_at_start_up() -> None:
    with pytest.raises(ValueError, match="WEBHOOK_SECRET must be set with WEBHOOK_URL"):
        BotSettings(bot_token="1:x", webhook_url="https://bot.example/hook")
