"""Worker processes killed on purpose: which one holds a batch, and SIGKILL it there.
Shared by the crash, takeover, supersede, streaming, history and WhatsApp tests."""

from __future__ import annotations

import asyncio
import signal

from sandbox.launcher import launch_together
from sandbox.telegram_api import Hold
from tests.conftest import WorkerProcess
from worker.settings import WorkerProcessSettings


async def two_workers(
    settings: WorkerProcessSettings, worker_processes: list[WorkerProcess]
) -> list[WorkerProcess]:
    """Two worker processes, up before the person writes: one claims, one takes over."""
    started = await launch_together([WorkerProcess.start(settings) for _ in range(2)])
    worker_processes.extend(started)
    return started


async def the_claimer(workers: list[WorkerProcess]) -> WorkerProcess:
    """The worker that claimed the batch (it says so in its log)."""
    async with asyncio.timeout(30):
        while True:
            for worker in workers:
                if worker.logged(b" claimed: "):
                    return worker
            await asyncio.sleep(0.02)


async def kill_at(
    held: Hold, settings: WorkerProcessSettings, worker_processes: list[WorkerProcess]
) -> None:
    """SIGKILL the worker holding the batch when it reaches the held call."""
    workers = await two_workers(settings, worker_processes)
    await held.arrived.wait()
    doomed = await the_claimer(workers)
    assert await doomed.stop(signal.SIGKILL) == -signal.SIGKILL
    held.release()
