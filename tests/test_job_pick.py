"""How a worker takes a due ARQ job (``take_job.lua``), step by step against a real Redis:
the same rules as ARQ's own WATCH/MULTI pick, in one call. Workers racing for the same
jobs end to end are in test_side_by_side.py and test_many_people.py."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from shared import arq_layout
from shared.redis_scripts import load_script

JOB = "batch:501"
LOCK_MS = 310_000
NOW = 1_700_000_000_000


async def take(redis: Redis, now_ms: int = NOW) -> int | None:
    script = load_script(redis, "take_job")
    keys = [arq_layout.QUEUE, arq_layout.in_progress_key(JOB)]
    score = await script(keys=keys, args=[JOB, now_ms, LOCK_MS])
    return int(score) if score else None


async def test_a_due_job_is_taken_once_with_arqs_lock(redis: Redis) -> None:
    await redis.zadd(arq_layout.QUEUE, {JOB: NOW - 5})

    assert await take(redis) == NOW - 5
    lock = arq_layout.in_progress_key(JOB)
    assert await redis.get(lock) == b"1"
    assert LOCK_MS - 1000 < await redis.pttl(lock) <= LOCK_MS
    assert await take(redis) is None  # running now: nobody takes it again
    assert await redis.zscore(arq_layout.QUEUE, JOB) == NOW - 5  # ARQ removes it at its end


async def test_a_job_not_due_or_gone_is_left_alone(redis: Redis) -> None:
    assert await take(redis) is None  # not queued (finished and removed)
    await redis.zadd(arq_layout.QUEUE, {JOB: NOW + 1000})  # moved later by a new message
    assert await take(redis) is None
    assert await redis.exists(arq_layout.in_progress_key(JOB)) == 0
    assert await take(redis, NOW + 1000) == NOW + 1000


async def test_of_many_racing_takes_exactly_one_wins(redis: Redis) -> None:
    await redis.zadd(arq_layout.QUEUE, {JOB: NOW})
    # Twenty calls at once, on as many connections of the pool: Redis runs each whole.
    results = await asyncio.gather(*(take(redis) for _ in range(20)))
    assert sorted(results, key=lambda r: r is None) == [NOW] + [None] * 19
