"""Each worker keeps its name in the ``workers`` sorted set, so the operations console
lists every worker (and notices one that went quiet) without scanning the keyspace for
health keys; one that stops cleanly records it in ``worker-stops``."""

from __future__ import annotations

import asyncio
import logging

from redis.asyncio import Redis

from shared.keys import WORKER_STOPS, WORKERS

log = logging.getLogger("batchbot.worker")

FORGET_AFTER_MS = 3_600_000
"""A worker silent this long is dropped from the set (the console shows the last hour)."""


async def announce(redis: Redis, worker: str) -> None:
    seconds, micros = await redis.time()
    now_ms = int(seconds) * 1000 + int(micros) // 1000
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zadd(WORKERS, {worker: now_ms})
        pipe.zremrangebyscore(WORKERS, "-inf", now_ms - FORGET_AFTER_MS)
        pipe.hdel(WORKER_STOPS, worker)
        await pipe.execute()


async def announce_forever(redis: Redis, worker: str, interval_seconds: float) -> None:
    """As often as ARQ refreshes the health key; a Redis hiccup only delays the next one."""
    while True:
        try:
            await announce(redis, worker)
        except Exception as error:
            log.warning("could not record worker %s as alive: %s", worker, error)
        await asyncio.sleep(interval_seconds)


async def withdraw(redis: Redis, worker: str) -> None:
    """A worker that stops cleanly says so: the console shows it as stopped, not as died
    (a killed worker's health key just lapses). It stays listed for the hour, like one
    that died, so an operator sees what went away."""
    seconds, micros = await redis.time()
    stopped_ms = str(int(seconds) * 1000 + int(micros) // 1000)
    await redis.hset(WORKER_STOPS, worker, stopped_ms)  # type: ignore[misc]
