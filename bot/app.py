"""Wiring: a Dispatcher with the commands and batching routers, the ops server, and the run."""

from __future__ import annotations

import logging

from aiogram import Dispatcher
from redis.asyncio import Redis

from bot.commands import commands_router
from bot.handlers import InFlightStores, batching_router
from bot.proactive import proactive_handler
from bot.settings import BotSettings
from bot.webhook import run_webhook
from channels.telegram import make_bot
from shared.ops_server import Handler, OpsServer
from shared.outbox import Outbox
from shared.redis_connection import redis_client
from shared.store import BatchStore

log = logging.getLogger("batchbot.bot")


def make_dispatcher(redis: Redis, settings: BotSettings) -> Dispatcher:
    # No FSM: batching keeps its state in Redis, and FSM's middleware costs every update
    # a storage lookup for nothing.
    dispatcher = Dispatcher(
        disable_fsm=True,
        store=BatchStore(redis, settings.redis_key_ttl_seconds),
        rules=settings.batching_rules(),
        settings=settings,
        in_flight=InFlightStores(),
    )
    dispatcher.include_router(commands_router(settings))
    dispatcher.include_router(batching_router())
    dispatcher.shutdown.register(_finish_stores)
    return dispatcher


async def _finish_stores(in_flight: InFlightStores, settings: BotSettings) -> None:
    """On SIGTERM, let messages being stored (say, during a Redis hiccup) get there."""
    unfinished = await in_flight.drain(settings.bot_shutdown_grace_seconds)
    if unfinished:
        log.error("%d message(s) were not stored before shutdown", unfinished)


def _proactive_routes(redis: Redis, settings: BotSettings) -> list[tuple[str, str, Handler]]:
    """``POST /proactive`` when PROACTIVE_TOKEN is set; nothing otherwise."""
    if settings.proactive_token is None:
        return []
    outbox = Outbox(redis, settings.redis_key_ttl_seconds)
    token = settings.proactive_token.get_secret_value()
    return [("POST", "/proactive", proactive_handler(outbox, token))]


async def run(settings: BotSettings) -> None:
    """Webhook mode when WEBHOOK_URL is set, else polling; until SIGINT/SIGTERM."""
    redis = redis_client(settings)
    bot = make_bot(settings)
    dispatcher = make_dispatcher(redis, settings)
    ops = OpsServer(
        redis,
        settings.metrics_host,
        settings.bot_metrics_port,
        "BOT_METRICS_PORT",
        routes=_proactive_routes(redis, settings),
    )
    if settings.bot_metrics_port:
        await ops.start()
    try:
        if settings.webhook_url is not None:
            await run_webhook(dispatcher, bot, settings)
        else:
            await bot.delete_webhook()
            await dispatcher.start_polling(
                bot, allowed_updates=dispatcher.resolve_used_update_types()
            )
    finally:
        await ops.stop()
        await redis.aclose()
