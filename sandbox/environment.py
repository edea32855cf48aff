"""The environment that points bot and worker processes at the sandbox."""

from __future__ import annotations

import os

from sandbox.example_backend import ExampleBackend
from sandbox.telegram_api import TelegramStandIn


def product_environment(
    redis_url: str, telegram: TelegramStandIn, backend: ExampleBackend, **settings: object
) -> dict[str, str]:
    """This process's environment plus the sandbox's addresses; ``settings`` by lower-case
    name (``batch_window_seconds=2``). Metrics ports are off: several processes share
    one host here."""
    env = {
        **os.environ,
        "BOT_TOKEN": telegram.token,
        "TELEGRAM_API_URL": telegram.url,
        "REDIS_URL": redis_url,
        "BACKEND_URL": backend.url,
        "BOT_METRICS_PORT": "0",
        "WORKER_METRICS_PORT": "0",
    }
    env.update({name.upper(): str(value) for name, value in settings.items()})
    return env
