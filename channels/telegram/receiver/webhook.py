"""Webhook mode: Telegram POSTs updates to us; we answer 2xx only once a message is stored.

Handling is not in the background (``handle_in_background=False``), so the answer
reflects the store: 503 when Redis could not take the message in time, which makes
Telegram deliver the update again later. A wrong secret token gets 401 (aiogram
compares it in constant time).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from channels.base import NotStored
from channels.telegram.settings import TelegramSettings
from shared.listening import listen
from shared.stopping import until_stopped

log = logging.getLogger("batchbot.bot")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _not_stored_is_503(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except NotStored as error:
        log.warning("%s not stored (%s); answered 503 so Telegram retries", error, error.cause)
        return web.Response(status=503, text="message not stored; deliver it again later")


def webhook_path(settings: TelegramSettings) -> str:
    assert settings.webhook_url is not None
    return urlsplit(str(settings.webhook_url)).path or "/"


def make_webhook_app(
    dispatcher: Dispatcher, bot: Bot, settings: TelegramSettings
) -> web.Application:
    assert settings.webhook_secret is not None
    app = web.Application(middlewares=[_not_stored_is_503])
    SimpleRequestHandler(
        dispatcher=dispatcher,
        bot=bot,
        secret_token=settings.webhook_secret.get_secret_value(),
        handle_in_background=False,
    ).register(app, path=webhook_path(settings))
    return app


async def run_webhook(dispatcher: Dispatcher, bot: Bot, settings: TelegramSettings) -> None:
    """Register the webhook with Telegram, serve until SIGINT/SIGTERM, then close."""
    assert settings.webhook_url is not None and settings.webhook_secret is not None
    runner = web.AppRunner(make_webhook_app(dispatcher, bot, settings), access_log=None)
    await runner.setup()
    host, port = settings.webhook_listen_host, settings.webhook_listen_port
    await listen(runner, host, port, "WEBHOOK_LISTEN_PORT")
    await bot.set_webhook(
        str(settings.webhook_url),
        secret_token=settings.webhook_secret.get_secret_value(),
        allowed_updates=dispatcher.resolve_used_update_types(),
    )
    log.info("webhook mode: listening on %s", runner.addresses)
    try:
        await until_stopped()
    finally:
        await runner.cleanup()
        await bot.session.close()
