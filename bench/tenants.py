"""Many tenants on one deployment: whether one tenant's flood delays another's batches,
and what serving many tenants costs each batch.

Fairness: tenant A has 5,000 batches falling due at once (a broadcast's replies, a bot
gone viral), tenant B's 200 fall due one by one over 10 s from half a second later; the
backend takes 200 ms, 2 workers of 20 batches each. Measured: how long after its
deadline each of B's batches reaches the backend. Baseline: today's single queue (no
cap, A's batches all ahead of B's); then A capped at MAX_BATCHES_IN_FLIGHT = 20 (half
the workers' slots), its due jobs parked out of the queue while it is at the cap.

Cost: 2,000 batches of 3 messages through 2 workers (as ``e2e``), on a deployment of 1
tenant and of 100 tenants (the batches spread over all of them), against the same
batches with no TENANTS_FILE: worker CPU per batch and batches per second.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

from redis.asyncio import Redis

from bench.common import (
    cpu_seconds,
    pending_message,
    percentile,
    product_environment,
    sandbox,
    workers,
)
from sandbox.example_backend import ExampleBackend
from sandbox.telegram_api import TelegramStandIn
from shared.store import BatchStore

BACKEND_SECONDS = 0.2
MAX_JOBS = 20
FLOOD_LEAD_MS = 2000
QUIET_START_MS = 2500
QUIET_SPREAD_MS = 10_000
CAP = 20


@dataclass(frozen=True, slots=True)
class FairnessResult:
    design: str
    flood: int
    quiet: int
    quiet_start_p50_ms: float
    quiet_start_p99_ms: float
    quiet_start_max_ms: float
    flood_in_flight_max: int
    """A's batches at the backend at once, at most (the cap when there is one)."""


@dataclass(frozen=True, slots=True)
class CostResult:
    tenants: int
    batches: int
    batches_per_second: float
    worker_cpu_ms_per_batch: float


def _token(tenant: int) -> str:
    return f"{700_000 + tenant}:bench-tenant-{tenant}"


def _tenants_file(folder: Path, count: int, telegram: TelegramStandIn, cap: int = 0) -> Path:
    """``count`` tenants, each with a bot on the stand-in; the first capped at ``cap``."""
    lines = []
    for n in range(count):
        telegram.also_tokens.add(_token(n))
        lines += [f"[tenants.t{n}]", f'telegram = [{{bot_token = "{_token(n)}"}}]']
        if n == 0 and cap:
            lines.append(f"max_batches_in_flight = {cap}")
    path = folder / "tenants.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _in_flight_max(backend: ExampleBackend, users: range) -> int:
    """Most of these users' backend calls under way at one moment."""
    events = sorted(
        [(c.started_at, 1) for c in backend.calls if c.request.user.id in users]
        + [(c.finished_at, -1) for c in backend.calls if c.request.user.id in users]
    )
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


async def fairness(url: str, flood: int, quiet: int, cap: int) -> FairnessResult:
    redis = Redis.from_url(url)
    await redis.flushall()
    store = BatchStore(redis, 7 * 86400)
    flooding, calm = range(100_000, 100_000 + flood), range(900_000, 900_000 + quiet)
    with tempfile.TemporaryDirectory() as folder:
        async with sandbox(delay_seconds=BACKEND_SECONDS) as (telegram, backend):
            path = _tenants_file(Path(folder), 2, telegram, cap)
            env = product_environment(
                url, telegram, backend, worker_max_jobs=MAX_JOBS, tenants_file=path
            )
            env.pop("BOT_TOKEN")
            async with workers(env, 2) as running:
                for worker in running:  # its tenants read (ARQ says it starts before that)
                    await worker.wait_for_log(b"serving tenants")
                prefix = [f"tg:{_token(n).partition(':')[0]}:" for n in (0, 1)]
                await asyncio.gather(
                    *(pending_message(store, f"{prefix[0]}{u}", u, FLOOD_LEAD_MS) for u in flooding)
                )
                deadlines = await asyncio.gather(
                    *(
                        pending_message(
                            store,
                            f"{prefix[1]}{u}",
                            u,
                            QUIET_START_MS + QUIET_SPREAD_MS * i // quiet,
                        )
                        for i, u in enumerate(calm)
                    )
                )
                due = dict(zip(calm, deadlines, strict=True))
                await _wait_for_calls(backend, calm, quiet)
    await redis.flushall()
    await redis.aclose()
    late = [
        c.started_wall * 1000 - due[int(c.request.user.id)]
        for c in backend.calls
        if c.request.user.id in calm
    ]
    return FairnessResult(
        design=f"A capped at {cap}" if cap else "single queue (no cap)",
        flood=flood,
        quiet=quiet,
        quiet_start_p50_ms=statistics.median(late),
        quiet_start_p99_ms=percentile(late, 0.99),
        quiet_start_max_ms=max(late),
        flood_in_flight_max=_in_flight_max(backend, flooding),
    )


async def _wait_for_calls(backend: ExampleBackend, users: range, count: int) -> None:
    """Until ``count`` of these users' batches were answered (not the flood's: it may go
    on after the measured ones are done)."""
    async with asyncio.timeout(300):
        while sum(1 for c in backend.calls if c.request.user.id in users) < count:
            await asyncio.sleep(0.05)


async def cost(url: str, tenants: int, batches: int) -> CostResult:
    """``tenants`` 0: no TENANTS_FILE, the environment's bot alone (today)."""
    redis = Redis.from_url(url)
    await redis.flushall()
    store = BatchStore(redis, 7 * 86400)
    with tempfile.TemporaryDirectory() as folder:
        async with sandbox(delay_seconds=BACKEND_SECONDS) as (telegram, backend):
            settings: dict[str, object] = {"worker_max_jobs": MAX_JOBS}
            if tenants:
                settings["tenants_file"] = _tenants_file(Path(folder), tenants, telegram)
            env = product_environment(url, telegram, backend, **settings)
            async with workers(env, 2) as running:
                for worker in running:
                    if tenants:  # its tenants read (ARQ says it starts before that)
                        await worker.wait_for_log(b"serving tenants")
                people = range(20_000, 20_000 + batches)

                def conversation(n: int, user: int) -> str:
                    if not tenants:
                        return str(user)
                    return f"tg:{_token(n % tenants).partition(':')[0]}:{user}"

                await asyncio.gather(
                    *(
                        pending_message(store, conversation(n, u), u, 2000)
                        for n, u in enumerate(people)
                    )
                )
                cpu = sum(cpu_seconds(w.pid) for w in running)
                await telegram.wait_for_sent(batches, timeout_seconds=300)
                cpu = sum(cpu_seconds(w.pid) for w in running) - cpu
    await redis.flushall()
    await redis.aclose()
    first = min(call.started_at for call in backend.calls)
    seconds = max(message.at for message in telegram.sent) - first
    return CostResult(tenants, batches, batches / seconds, cpu / batches * 1000)


@dataclass(frozen=True, slots=True)
class TenantsResult:
    fairness: list[FairnessResult]
    cost: list[CostResult]


async def run(url: str, flood: int = 5000, quiet: int = 200, batches: int = 2000) -> TenantsResult:
    fair = [await fairness(url, flood, quiet, 0), await fairness(url, flood, quiet, CAP)]
    costs = [await cost(url, n, batches) for n in (0, 1, 100)]
    return TenantsResult(fair, costs)
