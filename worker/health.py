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
from shared.logs import describe
from shared.redis_connection import redis_client
from shared.redis_settings import RedisConnectionSettings

CHECK_TIMEOUT_SECONDS = 5.0


async def _recorded_health(settings: RedisConnectionSettings) -> dict[str, str]:
    """Each live worker on this host (``host:port9101``) and its last health line."""
    redis = redis_client(settings)
    found: dict[str, str] = {}
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            pattern = arq_layout.health_check_keys_of(socket.gethostname())
            async for key in redis.scan_iter(match=pattern, count=1000):
                line = await redis.get(key)
                if line is not None:
                    worker = key.decode().removeprefix(arq_layout.HEALTH_CHECK_KEY_PREFIX)
                    found[worker] = line.decode()
    finally:
        await redis.aclose()
    return found


def check(settings: RedisConnectionSettings) -> int:
    """0 and each worker's last health line if any is recent; 1 and why not otherwise."""
    try:
        recorded = asyncio.run(_recorded_health(settings))
    except (RedisError, OSError, TimeoutError) as error:
        print(f"unhealthy: Redis unreachable ({describe(error, CHECK_TIMEOUT_SECONDS)})")
        return 1
    if not recorded:
        print(f"unhealthy: no worker on {socket.gethostname()} recorded its health recently")
        return 1
    for worker, line in sorted(recorded.items()):
        print(f"healthy: {worker} {line}")
    return 0
