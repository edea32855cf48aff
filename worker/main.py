"""Entry point for ARQ's CLI: ``arq worker.main.WorkerSettings`` (``python -m worker`` is
the same worker with batchbot's logging).

The class is built from the environment when this module is imported, which is when
the worker starts: a bad variable stops it with the variable's name. It is a plain
class, not a subclass, because ARQ reads only a settings class's own ``__dict__``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from config.bot import BotSettings
from config.tenants import tenants_at_start
from shared.logs import configure_logging
from shared.redis_connection import redis_client, wait_for_redis
from shared.settings import load_settings
from worker.options import worker_options
from worker.settings import WorkerProcessSettings


def settings_class(settings: WorkerProcessSettings) -> type[Any]:
    """ARQ's settings class, once Redis answers (or one line and exit code 1 if it does
    not within REDIS_OUTAGE_TOLERANCE_SECONDS: ARQ alone retries five times and ends
    in a traceback that never names REDIS_URL)."""
    asyncio.run(_until_redis_answers(settings))
    return type("WorkerSettings", (), worker_options(settings))


async def _until_redis_answers(settings: WorkerProcessSettings) -> None:
    client = redis_client(settings)
    try:
        await wait_for_redis(client, settings, settings.redis_outage_tolerance_seconds)
    finally:
        await client.aclose()


def __getattr__(name: str) -> Any:
    """``WorkerSettings`` is read from the environment only when ARQ's CLI asks for it."""
    if name == "WorkerSettings":
        settings = load_settings(WorkerProcessSettings, also_check=[BotSettings])
        tenants_at_start(settings)
        configure_logging(settings)
        return settings_class(settings)
    raise AttributeError(name)
