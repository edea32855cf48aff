"""The environment that points bot and worker processes at the sandbox."""

from __future__ import annotations

import os

from sandbox.example_backend import ExampleBackend
from sandbox.redis_server import free_port
from sandbox.telegram_api import TelegramStandIn
from sandbox.whatsapp_api import SANDBOX_VERIFY_TOKEN, WhatsAppStandIn
from sandbox.whatsapp_wire import SANDBOX_PHONE_NUMBER_ID


def product_environment(
    redis_url: str,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    *,
    whatsapp: WhatsAppStandIn | None = None,
    **settings: object,
) -> dict[str, str]:
    """This process's environment plus the sandbox's addresses; ``settings`` by lower-case
    name (``batch_window_seconds=2``). Metrics ports are off: several processes share
    one host here. With ``whatsapp``, the bot serves WhatsApp too, on a free port that
    the stand-in delivers to."""
    env = {
        **os.environ,
        "BOT_TOKEN": telegram.token,
        "TELEGRAM_API_URL": telegram.url,
        "REDIS_URL": redis_url,
        "BACKEND_URL": backend.url,
        "BOT_METRICS_PORT": "0",
        "WORKER_METRICS_PORT": "0",
    }
    if whatsapp is not None:
        port = free_port()
        whatsapp.webhook_url = f"http://127.0.0.1:{port}/webhook/whatsapp"
        env.update(whatsapp_environment(whatsapp, port))
    env.update({name.upper(): str(value) for name, value in settings.items()})
    return env


def whatsapp_environment(whatsapp: WhatsAppStandIn, listen_port: int) -> dict[str, str]:
    """The WhatsApp settings that point the bot and the workers at the stand-in, the bot's
    webhook on loopback at ``listen_port``."""
    return {
        "WHATSAPP_ACCESS_TOKEN": whatsapp.access_token,
        "WHATSAPP_API_URL": whatsapp.api_url,
        "WHATSAPP_APP_SECRET": whatsapp.app_secret,
        "WHATSAPP_VERIFY_TOKEN": SANDBOX_VERIFY_TOKEN,
        "WHATSAPP_PHONE_NUMBER_ID": SANDBOX_PHONE_NUMBER_ID,
        "WHATSAPP_LISTEN_HOST": "127.0.0.1",
        "WHATSAPP_LISTEN_PORT": str(listen_port),
    }
