"""Where a batch's time goes: one worker under cProfile through the end-to-end load.

The same load as ``bench/e2e.py`` at one worker (2,000 batches of 3 messages, backend
200 ms), with the worker run as ``python -m cProfile -m worker``. cProfile counts the
CPU each function spends itself (``tottime``); each is put in one part by its file
(ARQ, redis-py, batchbot's store, JSON and pydantic, the backend client, the channel's
sender, logging, metrics, the event loop), so the parts add up to the whole. The
protocol's steps (claim, answer, parts, release, lease renewals...) are read as their
functions' cumulative time. Redis's side is counted too: commands per batch by name,
from ``INFO commandstats`` (a script's inner calls included).

cProfile slows the worker about twice, evenly enough that the shares hold; the CPU
per batch to quote is the one ``e2e`` measures without it.
"""

from __future__ import annotations

import pstats
import shutil
import signal
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from redis.asyncio import Redis

from bench.common import product_environment, sandbox
from bench.e2e import BACKEND_SECONDS, LEAD_MS, MAX_JOBS, pending_batches
from sandbox.launcher import ChildProcess
from shared.store import BatchStore

PARTS = (
    ("ARQ: polling, job records, results", ("/arq/",)),
    ("redis-py: commands, replies, connections", ("/redis/", "hiredis")),
    ("batchbot: store, leases, handoffs", ("/shared/store", "/shared/leases", "/shared/claimed",
                                           "/shared/handoff", "/shared/replicated",
                                           "/shared/history", "/shared/redis_scripts",
                                           "/shared/keys")),
    ("batchbot: the job's steps", ("/worker/",)),
    ("JSON and pydantic (models, contract)", ("/pydantic", "/json/", "/shared/models",
                                              "/shared/message_parts", "_json")),
    ("backend client: httpx, aiohttp transport", ("/backend_client/", "/httpx/", "/httpcore/",
                                                  "/aiohttp/", "/h11/", "/yarl/", "/multidict/")),
    ("Telegram sender: aiogram, its session", ("/channels/", "/aiogram/")),
    ("logging", ("/logging/", "/shared/logs")),
    ("metrics (prometheus-client)", ("/prometheus_client/", "/shared/metrics")),
    ("event loop, sockets, SSL", ("/asyncio/", "selectors", "socket", "<built-in method select")),
)  # fmt: skip

PROFILED_WORKER = """
import cProfile, signal, sys, time
from unittest import mock
from shared import stopping
from worker import __main__ as worker
profiler, out = cProfile.Profile(time.process_time), sys.argv[1]  # CPU, not waiting
signal.signal(signal.SIGUSR1, lambda *_: profiler.enable())  # the load begins
def written(code=0):  # the worker ends with os._exit: write the profile first
    profiler.disable()
    profiler.dump_stats(out)
    raise SystemExit(code)
with mock.patch.object(stopping, "exit_at_once", written):  # worker.main imports it late
    sys.argv = ["worker"]
    worker.main()
"""
"""``python -m worker`` under cProfile from SIGUSR1 on (its start-up, seconds of imports,
is not the batches' cost). It ends with ``os._exit`` (no interpreter teardown), which
``python -m cProfile`` would not survive to write its file."""

STEPS = (
    ("claim (claim.lua)", "shared/store.py", "claim"),
    ("history read", "shared/history.py", "with_history"),
    ("backend call", "backend_client/_client.py", "answer"),
    ("store the answer (update_inflight.lua)", "shared/store.py", "save_answer"),
    ("before each part (begin_part.lua)", "shared/leases.py", "begin_part"),
    ("send a part", "worker/delivery.py", "_send_and_mark"),
    ("typing while the backend works", "worker/progress.py", "refresh"),
    ("release (release.lua)", "shared/store.py", "release"),
    ("lease renewals (renew.lua)", "shared/leases.py", "renew"),
    ("next batch's job (schedule.lua)", "shared/store.py", "schedule"),
    ("proactive messages' check", "worker/outbox.py", "deliver_outbox"),
)


@dataclass(frozen=True, slots=True)
class ProfileResult:
    batches: int
    profiled_cpu_ms_per_batch: float
    parts: dict[str, float] = field(default_factory=dict)
    """Share of the worker's CPU (0-1) by part; they add up to 1."""
    steps_ms_per_batch: dict[str, float] = field(default_factory=dict)
    redis_commands_per_batch: dict[str, float] = field(default_factory=dict)
    redis_round_trips_per_batch: float = 0.0
    """Writes to a Redis connection (a pipeline is one), counted in the worker."""


def _part_of(filename: str, function: str) -> str:
    where = f"{filename} {function}"
    for name, needles in PARTS:
        if any(needle in where for needle in needles):
            return name
    return "other (Python itself, typing, dataclasses...)"


def round_trips(stats: pstats.Stats) -> int:
    """Calls of redis-py's one write per round trip (a command, or a whole pipeline)."""
    entries = stats.stats  # type: ignore[attr-defined]
    return sum(
        calls
        for (filename, _, function), (_, calls, _, _, _) in entries.items()
        if function == "send_packed_command" and filename.endswith("redis/asyncio/connection.py")
    )


def breakdown(
    stats: pstats.Stats, batches: int
) -> tuple[float, dict[str, float], dict[str, float]]:
    """(profiled CPU ms per batch, share by part, steps' cumulative ms per batch)."""
    by_part: Counter[str] = Counter()
    steps: dict[str, float] = {}
    entries = stats.stats  # type: ignore[attr-defined]
    for (filename, _, function), (_, _, tottime, cumtime, _) in entries.items():
        by_part[_part_of(filename, function)] += tottime
        for label, path, name in STEPS:
            if function == name and filename.endswith(path):
                steps[label] = steps.get(label, 0.0) + cumtime * 1000 / batches
    total = sum(by_part.values())
    shares = {part: seconds / total for part, seconds in by_part.most_common()}
    return total * 1000 / batches, shares, steps


async def _commands_by_name(redis: Redis) -> Counter[str]:
    stats = await redis.info("commandstats")
    return Counter(
        {name.removeprefix("cmdstat_"): int(entry["calls"]) for name, entry in stats.items()}
    )


async def run(url: str, people: int = 2000, keep: str | None = None) -> ProfileResult:
    """``keep``: also copy the worker's profile there (a pstats file, for ``python -m
    pstats`` or snakeviz), to look past the parts and steps this prints."""
    redis = Redis.from_url(url)
    await redis.flushall()
    store = BatchStore(redis, 7 * 86400)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "worker.prof"
        async with sandbox(delay_seconds=BACKEND_SECONDS) as (telegram, backend):
            env = product_environment(url, telegram, backend, worker_max_jobs=MAX_JOBS)
            command = [sys.executable, "-c", PROFILED_WORKER, str(path)]
            worker = await ChildProcess.launch(
                command, {**env, "LOG_LEVEL": "INFO"}, b"Starting worker"
            )
            try:
                await pending_batches(store, people, LEAD_MS)
                worker.send_signal(signal.SIGUSR1)
                before = await _commands_by_name(redis)
                await telegram.wait_for_sent(people, timeout_seconds=600)
                after = await _commands_by_name(redis)
            finally:
                await worker.stop()
        stats = pstats.Stats(str(path))
        if keep is not None:
            shutil.copyfile(path, keep)
    await redis.aclose()
    cpu_ms, shares, steps = breakdown(stats, people)
    commands = {name: (after[name] - before[name]) / people for name in after}
    shown = {name: count for name, count in sorted(commands.items(), key=lambda kv: -kv[1])
             if count >= 0.05}  # fmt: skip
    return ProfileResult(people, cpu_ms, shares, steps, shown, round_trips(stats) / people)
