"""``python -m worker --check``: is a worker on this host alive? For container healthchecks.

Reads the health key the worker's ARQ loop refreshes every
WORKER_HEALTH_CHECK_INTERVAL_SECONDS (it expires a second after that). It imports
neither ARQ's worker nor aiogram, so a check every few seconds costs little.
"""

from __future__ import annotations

import asyncio
import socket

from redis.exceptions import RedisError

from shared import arq_layout
from shared.redis_connection import redis_client
from worker.settings import WorkerProcessSettings

CHECK_TIMEOUT_SECONDS = 5.0


async def _recorded_health(settings: WorkerProcessSettings) -> str | None:
    redis = redis_client(settings)
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            raw = await redis.get(arq_layout.health_check_key(socket.gethostname()))
    finally:
        await redis.aclose()
    return raw.decode() if raw is not None else None


def check(settings: WorkerProcessSettings) -> int:
    """0 and the worker's last health line if it is recent; 1 and why not otherwise."""
    try:
        recorded = asyncio.run(_recorded_health(settings))
    except (RedisError, OSError, TimeoutError) as error:
        print(f"unhealthy: Redis unreachable ({type(error).__name__}: {error})")
        return 1
    if recorded is None:
        print(f"unhealthy: no worker on {socket.gethostname()} recorded its health recently")
        return 1
    print(f"healthy: {recorded}")
    return 0
