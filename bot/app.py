"""Wiring: every configured channel's adapter (``channels.registry``) receiving into one
:class:`bot.intake.StoringIntake` (the Meta listener for the channels Meta delivers to,
the adapter's own receiver for the others, such as Telegram), the ops server, and the run."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from redis.asyncio import Redis

from bot.handoff import handoff_handler
from bot.intake import batch_store
from bot.meta_webhook import serve_meta
from bot.proactive import proactive_handler
from bot.settings import BotSettings
from bot.tenants import BotTenants
from config.tenancy import TenantsWatch, described
from config.tenants import Tenant, read_tenants
from shared.handoff import Handoffs
from shared.ops_server import Handler, OpsServer, bind_ops_socket
from shared.outbox import Outbox
from shared.redis_connection import redis_client, wait_for_redis
from shared.replicated import ScriptRunner
from shared.replication import ReplicaWatch
from shared.stopping import stop_on_signals

log = logging.getLogger("batchbot.bot")


def _proactive_routes(
    redis: Redis, settings: BotSettings, replicas: ReplicaWatch, served: BotTenants
) -> list[tuple[str, str, Handler]]:
    """``POST /proactive`` and ``POST /handoff`` when PROACTIVE_TOKEN is set (404 saying
    so otherwise); their writes wait for REDIS_WAIT_REPLICAS like a message's."""
    if settings.proactive_token is None:
        return [("POST", path, _turned_off) for path in ("/proactive", "/handoff")]
    ttl = settings.redis_key_ttl_seconds
    token = settings.proactive_token.get_secret_value()
    scripts = ScriptRunner(redis, settings.redis_wait_replicas, replicas)
    routes = served.current_routes
    handoffs = handoff_handler(
        Handoffs(redis, ttl, scripts), token, routes, settings.handoff_seconds
    )
    return [
        ("POST", "/proactive", proactive_handler(Outbox(redis, ttl, scripts), token, routes)),
        ("POST", "/handoff", handoffs),
    ]


async def _turned_off(request: web.Request) -> web.Response:
    """The routes exist but are off: a bare 404 would send an operator looking for a typo."""
    said = (
        f"{request.path} is off: set PROACTIVE_TOKEN (16 characters or more) on the bot to "
        "turn it on, then send it as Authorization: Bearer <token>"
    )
    return web.json_response({"error": said}, status=404)


async def run(settings: BotSettings, tenants: list[Tenant[BotSettings]] | None = None) -> None:
    """Every tenant's channels until SIGINT/SIGTERM: the Meta listener when a channel Meta
    delivers to is configured (or may be, by TENANTS_FILE); the receivers of the channels
    that receive on their own (Telegram: polling, or its webhook when WEBHOOK_URL is set),
    one per bot. TENANTS_FILE is watched for changes."""
    redis = redis_client(settings)
    replicas = ReplicaWatch(settings.redis_wait_replicas)  # every channel's writes, one view
    served = BotTenants(batch_store(redis, settings, replicas), settings)
    ops = None
    if settings.bot_metrics_port:
        sock = bind_ops_socket(settings.metrics_host, settings.bot_metrics_port, "BOT_METRICS_PORT")
        routes = _proactive_routes(redis, settings, replicas, served)
        ops = OpsServer(redis, sock, routes=routes, problems=[lambda: replicas.problem])
        await ops.start()
    meta = None
    watch = TenantsWatch(settings, served.apply)
    reloading = None
    try:
        await wait_for_redis(redis, settings, give_up_after_seconds=None)
        await replicas.check_at_start(redis)
        tenants = read_tenants(settings) if tenants is None else tenants
        await served.apply(tenants)
        if settings.tenants_file is not None:
            log.info("serving tenants: %s", described(tenants))
        if served.receives_from_meta or _may_add_meta(settings):
            meta = await serve_meta(served.meta, settings)
        if settings.tenants_file is not None:
            reloading = asyncio.create_task(watch.run_forever())
        await served.run(stop_on_signals())
    finally:
        if reloading is not None:
            reloading.cancel()
        if meta is not None:
            await meta.cleanup()
        if ops is not None:
            await ops.stop()
        await redis.aclose()


def _may_add_meta(settings: BotSettings) -> bool:
    """A TENANTS_FILE deployment with a Meta app listens from the start, so a WhatsApp
    number, Instagram account or Page added later is served without a restart."""
    return settings.tenants_file is not None and settings.meta_app_secret is not None
