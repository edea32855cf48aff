"""Wiring: a Bot for the configured API server and a Dispatcher with the batching router."""

from __future__ import annotations

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from redis.asyncio import Redis

from bot.handlers import batching_router
from shared.settings import BotSettings
from shared.store import BatchStore


def make_bot(settings: BotSettings) -> Bot:
    api = TelegramAPIServer.from_base(str(settings.telegram_api_url))
    return Bot(settings.bot_token.get_secret_value(), session=AiohttpSession(api=api))


def make_dispatcher(redis: Redis, settings: BotSettings) -> Dispatcher:
    dispatcher = Dispatcher(
        store=BatchStore(redis, settings.redis_key_ttl_seconds), settings=settings
    )
    dispatcher.include_router(batching_router())
    return dispatcher


async def run_polling(settings: BotSettings, *, handle_signals: bool = True) -> None:
    """Poll until stopped (SIGINT/SIGTERM), then close Redis and the HTTP session."""
    redis = Redis.from_url(settings.redis_url)
    bot = make_bot(settings)
    dispatcher = make_dispatcher(redis, settings)
    try:
        await dispatcher.start_polling(
            bot,
            allowed_updates=dispatcher.resolve_used_update_types(),
            handle_signals=handle_signals,
        )
    finally:
        await redis.aclose()
