"""Running one worker process until SIGTERM or SIGINT, and then stopping in bounded time.

ARQ's ``Worker.run`` ends with ``Worker.close()``: it deletes the health key, runs our
shutdown, and closes the pool, each a Redis command that retries for as long as
REDIS_OUTAGE_TOLERANCE_SECONDS allows. When Redis goes away at the same moment as the
signal (a supervisor stopping a whole group or host, Redis first) a stop then took a
minute, past any supervisor's patience. Here the same steps run with a bound:
running batches get WORKER_SHUTDOWN_GRACE_SECONDS (ARQ's own wait), the clean-up after
them :data:`CLEANUP_SECONDS`; what Redis does not answer by then is left to expire (the
health key lapses by itself, a batch's lease lapses and another worker resumes it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from arq.worker import Worker

log = logging.getLogger("batchbot.worker")

CLEANUP_SECONDS = 1.5
"""After the running batches: the health key, presence, connections. Grace plus this is
how long a stop takes at most."""


def run_until_stopped(worker: Worker) -> None:
    """``Worker.run`` with its clean-up bounded (see the module's docstring)."""
    worker.main_task = worker.loop.create_task(worker.main())
    try:
        worker.loop.run_until_complete(worker.main_task)
    except asyncio.CancelledError:
        pass  # the signal handler cancels the main task: that is the normal end
    finally:
        worker.loop.run_until_complete(_close_within(worker, CLEANUP_SECONDS))


async def _close_within(worker: Worker, seconds: float) -> None:
    closing = asyncio.ensure_future(worker.close())
    done, _ = await asyncio.wait({closing}, timeout=seconds)
    if closing in done:
        with contextlib.suppress(Exception):
            closing.result()
        return
    closing.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await closing
    log.warning(
        "Redis did not answer the clean-up within %gs; stopped without it (the health key "
        "and any lease expire by themselves)",
        seconds,
    )
    # What the skipped shutdown would have stopped (the sweep, presence) goes now.
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in others:
        task.cancel()
    await asyncio.wait(others, timeout=0.5) if others else None
