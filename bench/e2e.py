"""End to end: batches per second through 1, 2 and 4 worker processes, backend 200 ms.

2,000 people each have a pending batch of 3 messages, all due at the same moment; the
workers claim them, call the example backend (which takes 200 ms to answer), and send
each reply to the Bot API stand-in. The rate is batches from the first backend call to
the last reply. CPU time of the workers, of Redis and of this process (which plays
the backend and Telegram) says where the time went.

Each worker runs WORKER_MAX_JOBS = 20 batches at once, so with a 200 ms backend one
worker cannot pass 20 / 0.2 = 100 batches a second: the backend-bound ceiling.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass

from redis.asyncio import Redis

from bench.common import (
    cpu_seconds,
    pending_message,
    product_environment,
    redis_cpu_seconds,
    sandbox,
    workers,
)
from shared.store import BatchStore

BACKEND_SECONDS = 0.2
MAX_JOBS = 20
MESSAGES_PER_BATCH = 3
LEAD_MS = 2000


@dataclass(frozen=True, slots=True)
class EndToEndResult:
    workers: int
    batches: int
    seconds: float
    batches_per_second: float
    messages_per_second: float
    ceiling_per_second: float
    worker_cpu_share: float
    """Worker CPU seconds per wall second, all workers together (2.0 = both cores)."""
    redis_cpu_share: float
    bench_cpu_share: float
    """This process: the backend and Telegram stand-ins."""


async def pending_batches(store: BatchStore, people: int, due_in_ms: int) -> None:
    async def one(user_id: int) -> None:
        for n in range(1, MESSAGES_PER_BATCH + 1):
            await pending_message(store, str(user_id), user_id, due_in_ms, n, f"part {n}")

    await asyncio.gather(*(one(20_000 + n) for n in range(people)))


async def measure(url: str, worker_count: int, people: int) -> EndToEndResult:
    redis = Redis.from_url(url)
    await redis.flushall()
    store = BatchStore(redis, 7 * 86400)
    async with sandbox(delay_seconds=BACKEND_SECONDS) as (telegram, backend):
        env = product_environment(url, telegram, backend, worker_max_jobs=MAX_JOBS)
        async with workers(env, worker_count) as running:
            await pending_batches(store, people, LEAD_MS)  # done before they fall due
            worker_cpu = sum(cpu_seconds(w.pid) for w in running)
            redis_cpu = await redis_cpu_seconds(redis)
            bench_cpu = time.process_time()
            await telegram.wait_for_sent(people, timeout_seconds=300)
            worker_cpu = sum(cpu_seconds(w.pid) for w in running) - worker_cpu
            redis_cpu = await redis_cpu_seconds(redis) - redis_cpu
            bench_cpu = time.process_time() - bench_cpu
    await redis.aclose()
    first_call = min(call.started_at for call in backend.calls)
    seconds = max(message.at for message in telegram.sent) - first_call
    rate = people / seconds
    return EndToEndResult(
        workers=worker_count,
        batches=people,
        seconds=seconds,
        batches_per_second=rate,
        messages_per_second=rate * MESSAGES_PER_BATCH,
        ceiling_per_second=worker_count * MAX_JOBS / BACKEND_SECONDS,
        worker_cpu_share=worker_cpu / seconds,
        redis_cpu_share=redis_cpu / seconds,
        bench_cpu_share=bench_cpu / seconds,
    )


async def run(url: str, people: int = 2000) -> list[EndToEndResult]:
    assert os.cpu_count(), "needs /proc"
    return [await measure(url, count, people) for count in (1, 2, 4)]
