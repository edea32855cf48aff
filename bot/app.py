"""Wiring: every configured channel (Telegram's Dispatcher with the commands and batching
routers, WhatsApp's webhook), the ops server, and the run."""

from __future__ import annotations

import logging

from aiogram import Bot, Dispatcher
from redis.asyncio import Redis

from bot.commands import commands_router
from bot.handlers import batching_router
from bot.polling import poll_until_stopped
from bot.proactive import proactive_handler
from bot.settings import BotSettings
from bot.telegram_check import checked_bot_identity
from bot.webhook import run_webhook
from bot.whatsapp import serve_whatsapp
from channels.telegram import make_bot
from shared.ops_server import Handler, OpsServer, bind_ops_socket
from shared.outbox import Outbox
from shared.redis_connection import redis_client, wait_for_redis
from shared.replication import ReplicaWatch
from shared.stopping import stop_on_signals, until_stopped
from shared.store import BatchStore

log = logging.getLogger("batchbot.bot")


def make_dispatcher(
    redis: Redis, settings: BotSettings, replicas: ReplicaWatch | None = None
) -> Dispatcher:
    # No FSM: batching keeps its state in Redis, and FSM's middleware costs every update
    # a storage lookup for nothing.
    dispatcher = Dispatcher(
        disable_fsm=True,
        store=_store(redis, settings, replicas),
        rules=settings.batching_rules(),
        settings=settings,
    )
    dispatcher.include_router(commands_router(settings))
    dispatcher.include_router(batching_router())
    return dispatcher


def _store(redis: Redis, settings: BotSettings, replicas: ReplicaWatch | None) -> BatchStore:
    return BatchStore(
        redis, settings.redis_key_ttl_seconds, settings.redis_wait_replicas, replicas=replicas
    )


def _proactive_routes(redis: Redis, settings: BotSettings) -> list[tuple[str, str, Handler]]:
    """``POST /proactive`` when PROACTIVE_TOKEN is set; nothing otherwise."""
    if settings.proactive_token is None:
        return []
    outbox = Outbox(redis, settings.redis_key_ttl_seconds)
    token = settings.proactive_token.get_secret_value()
    handler = proactive_handler(outbox, token, settings.channels, settings.whatsapp_phone_number_id)
    return [("POST", "/proactive", handler)]


async def run(settings: BotSettings) -> None:
    """Every configured channel until SIGINT/SIGTERM: WhatsApp's webhook server when
    WHATSAPP_ACCESS_TOKEN is set; Telegram when BOT_TOKEN is (webhook mode when
    WEBHOOK_URL is set, else polling)."""
    redis = redis_client(settings)
    replicas = ReplicaWatch(settings.redis_wait_replicas)  # every channel's writes, one view
    ops = None
    if settings.bot_metrics_port:
        sock = bind_ops_socket(settings.metrics_host, settings.bot_metrics_port, "BOT_METRICS_PORT")
        routes = _proactive_routes(redis, settings)
        ops = OpsServer(redis, sock, routes=routes, problems=[lambda: replicas.problem])
        await ops.start()
    bot = make_bot(settings) if settings.bot_token is not None else None
    whatsapp = None
    try:
        await wait_for_redis(redis, settings, give_up_after_seconds=None)
        if settings.whatsapp_access_token is not None:
            whatsapp = await serve_whatsapp(_store(redis, settings, replicas), settings)
        if bot is not None:
            await checked_bot_identity(bot, settings)
        if bot is None:
            await until_stopped()
        elif settings.webhook_url is not None:
            await run_webhook(make_dispatcher(redis, settings, replicas), bot, settings)
        else:
            await _poll(make_dispatcher(redis, settings, replicas), bot, settings)
    finally:
        if whatsapp is not None:
            await whatsapp.cleanup()
        if ops is not None:
            await ops.stop()
        if bot is not None:
            await bot.session.close()
        await redis.aclose()


async def _poll(dispatcher: Dispatcher, bot: Bot, settings: BotSettings) -> None:
    stop = stop_on_signals()
    await bot.delete_webhook()
    await poll_until_stopped(dispatcher, bot, stop, settings.bot_shutdown_grace_seconds)
