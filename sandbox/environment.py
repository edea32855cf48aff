"""The environment that points bot and worker processes at the sandbox."""

from __future__ import annotations

import os

from sandbox.example_backend import ExampleBackend
from sandbox.redis_server import free_port
from sandbox.send_api import SendApiStandIn
from sandbox.telegram_api import TelegramStandIn
from sandbox.whatsapp_api import SANDBOX_APP_SECRET, SANDBOX_VERIFY_TOKEN, WhatsAppStandIn
from sandbox.whatsapp_wire import SANDBOX_PHONE_NUMBER_ID


def product_environment(
    redis_url: str,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    *,
    whatsapp: WhatsAppStandIn | None = None,
    instagram: SendApiStandIn | None = None,
    messenger: SendApiStandIn | None = None,
    **settings: object,
) -> dict[str, str]:
    """This process's environment plus the sandbox's addresses; ``settings`` by lower-case
    name (``batch_window_seconds=2``). Metrics ports are off: several processes share
    one host here. With ``whatsapp``, ``instagram`` or ``messenger``, the bot serves them
    too, on one free port (the Meta listener) that the stand-ins deliver to."""
    env = {
        **os.environ,
        "BOT_TOKEN": telegram.token,
        "TELEGRAM_API_URL": telegram.url,
        "REDIS_URL": redis_url,
        "BACKEND_URL": backend.url,
        "BOT_METRICS_PORT": "0",
        "WORKER_METRICS_PORT": "0",
    }
    port = free_port()
    if whatsapp is not None:
        whatsapp.webhook_url = f"http://127.0.0.1:{port}/webhook/whatsapp"
        env.update(whatsapp_environment(whatsapp, port))
    for stand_in in (instagram, messenger):
        if stand_in is not None:
            stand_in.webhook_url = f"http://127.0.0.1:{port}/webhook/{stand_in.shape.channel}"
            env.update({**send_api_environment(stand_in), **meta_app_environment(port)})
    env.update({name.upper(): str(value) for name, value in settings.items()})
    return env


def meta_app_environment(listen_port: int) -> dict[str, str]:
    """The Meta app's settings (one app for every Meta channel), its listener on loopback."""
    return {
        "META_APP_SECRET": SANDBOX_APP_SECRET,
        "META_VERIFY_TOKEN": SANDBOX_VERIFY_TOKEN,
        "META_LISTEN_HOST": "127.0.0.1",
        "META_LISTEN_PORT": str(listen_port),
    }


def send_api_environment(stand_in: SendApiStandIn) -> dict[str, str]:
    """Instagram's or Messenger's settings, pointing at its stand-in."""
    names = {
        "instagram": ("INSTAGRAM_ACCESS_TOKEN", "INSTAGRAM_ACCOUNT_ID", "INSTAGRAM_API_URL"),
        "messenger": ("MESSENGER_PAGE_ACCESS_TOKEN", "MESSENGER_PAGE_ID", "MESSENGER_API_URL"),
    }
    token, account, api_url = names[stand_in.shape.channel]
    shape = stand_in.shape
    return {token: shape.access_token, account: shape.account, api_url: stand_in.api_url}


def whatsapp_environment(whatsapp: WhatsAppStandIn, listen_port: int) -> dict[str, str]:
    """The WhatsApp settings that point the bot and the workers at the stand-in, the bot's
    webhook on loopback at ``listen_port``."""
    return {
        "WHATSAPP_ACCESS_TOKEN": whatsapp.access_token,
        "WHATSAPP_API_URL": whatsapp.api_url,
        "WHATSAPP_PHONE_NUMBER_ID": SANDBOX_PHONE_NUMBER_ID,
        **meta_app_environment(listen_port),
    }
