"""Timer precision: how late a batch reaches the backend after its deadline.

1,000 measured conversations fall due over 10 seconds (100 a second, well within two
workers' capacity, so lateness is the timer's and not a backlog's). To measure with
10,000 pending, 9,000 more conversations wait with deadlines ten minutes away the
whole time. Baseline: the same workers with ARQ's default poll delay of 0.5 s.
"""

from __future__ import annotations

import asyncio
import statistics
from dataclasses import dataclass

from redis.asyncio import Redis

from bench.common import pending_message, percentile, product_environment, sandbox, workers
from shared.store import BatchStore

LEAD_MS = 3000
BACKGROUND_WINDOW_MS = 600_000


@dataclass(frozen=True, slots=True)
class TimerResult:
    name: str
    pending: int
    poll_delay_seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float


async def _append(store: BatchStore, user_id: int, window_ms: int) -> int:
    return await pending_message(store, str(user_id), user_id, window_ms)


async def lateness(
    url: str, pending: int, poll_delay: float, measured_count: int, spread_ms: int
) -> list[float]:
    """Milliseconds from each measured conversation's deadline to its backend call."""
    redis = Redis.from_url(url)
    await redis.flushall()
    store = BatchStore(redis, 7 * 86400)
    async with sandbox() as (telegram, backend):
        env = product_environment(
            url, telegram, backend, worker_poll_delay_seconds=poll_delay, worker_max_jobs=50
        )
        async with workers(env, 2):
            background = range(1_000_000, 1_000_000 + pending - measured_count)
            await asyncio.gather(*(_append(store, u, BACKGROUND_WINDOW_MS) for u in background))
            measured = range(10_000, 10_000 + measured_count)
            deadlines = await asyncio.gather(
                *(
                    _append(store, user, LEAD_MS + spread_ms * i // measured_count)
                    for i, user in enumerate(measured)
                )
            )
            by_user = dict(zip(measured, deadlines, strict=True))
            await backend.wait_for_answered_messages(measured_count, timeout_seconds=120)
    await redis.flushall()
    await redis.aclose()
    return [call.started_wall * 1000 - by_user[int(call.request.user.id)] for call in backend.calls]


async def run(
    url: str, sizes: tuple[int, ...] = (1000, 10_000), measured: int = 1000, spread_ms: int = 10_000
) -> list[TimerResult]:
    """``measured`` conversations fall due over ``spread_ms``, with ``sizes`` pending."""
    results = []
    for pending in sizes:
        for name, poll in (("batchbot", 0.05), ("ARQ default poll", 0.5)):
            late = await lateness(url, pending, poll, measured, spread_ms)
            results.append(
                TimerResult(
                    name=name,
                    pending=pending,
                    poll_delay_seconds=poll,
                    p50_ms=statistics.median(late),
                    p99_ms=percentile(late, 0.99),
                    max_ms=max(late),
                )
            )
    return results
