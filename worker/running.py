"""Running one worker process until SIGTERM or SIGINT, and then stopping in bounded time.

ARQ's ``Worker.run`` ends with ``Worker.close()``: it deletes the health key, runs our
shutdown, and closes the pool, each a Redis command that retries for as long as
REDIS_OUTAGE_TOLERANCE_SECONDS allows; and its poll loop, cancelled at the signal, can
sit in such a retry too. When Redis goes away at the same moment as the signal (a
supervisor stopping a whole group or host, Redis first) a stop took a minute, past any
supervisor's patience. Here running batches get WORKER_SHUTDOWN_GRACE_SECONDS (ARQ's
own wait), then the poll loop :data:`LOOP_STOP_SECONDS` to end and the clean-up
:data:`CLEANUP_SECONDS`; what Redis does not answer by then is left to expire (the
health key lapses by itself, a batch's lease lapses and another worker resumes it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from signal import Signals
from typing import Any

from arq.worker import Worker, get_kwargs
from redis.exceptions import WatchError

log = logging.getLogger("batchbot.worker")

LOOP_STOP_SECONDS = 0.5
CLEANUP_SECONDS = 1.0
"""After the grace: the poll loop's end, then the health key, presence and connections."""


class BatchWorker(Worker):
    """ARQ's worker, with one gap closed: when the connection drops while ``start_jobs``
    WATCHes a job's lock (a failover, a Redis restart), redis-py raises WatchError at once,
    outside the handler ARQ has for it, and the poll loop dies with the worker. Here that
    job is left for the next poll (a tenth of a second later), and the slot ARQ had taken
    for it is given back.

    And one cost cut: ARQ leaves a running job in its queue until the job ends, so every
    poll read this worker's own running jobs again and asked Redis about each (WATCH,
    EXISTS, ZSCORE, UNWATCH: four round trips) only to find it running. Those are passed
    over here without asking: this worker knows it runs them."""

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        running = self.tasks
        if running:
            job_ids = [
                job_id
                for job_id in job_ids
                if (task := running.get(job_id.decode())) is None or task.done()
            ]
        try:
            await super().start_jobs(job_ids)
        except WatchError as error:
            # Raised after ARQ counted the job and took a slot, before it made a task.
            self.job_counter -= 1
            self.sem.release()
            log.warning(
                "Redis dropped the connection while a job was picked (%s); the next "
                "poll picks it up",
                error,
            )


def batch_worker(settings_class: type[Any]) -> BatchWorker:
    """The worker for a settings class, as ARQ's ``create_worker`` makes it."""
    options: dict[str, Any] = dict(get_kwargs(settings_class))
    return BatchWorker(**options)


def run_until_stopped(worker: Worker) -> None:
    """``Worker.run`` with its end bounded (see the module's docstring)."""
    worker.main_task = worker.loop.create_task(worker.main())
    try:
        worker.loop.run_until_complete(_until_the_loop_ends(worker))
    finally:
        worker.loop.run_until_complete(_close_within(worker, CLEANUP_SECONDS))


async def _until_the_loop_ends(worker: Worker) -> None:
    """ARQ's poll loop until it ends; once ARQ has cancelled it (the signal, then the
    grace), :data:`LOOP_STOP_SECONDS` at most."""
    cancelled = asyncio.Event()

    def on_stop(_: Signals) -> None:
        cancelled.set()

    worker.on_stop = on_stop
    main = worker.main_task
    assert main is not None
    told = asyncio.ensure_future(cancelled.wait())
    try:
        await asyncio.wait({main, told}, return_when=asyncio.FIRST_COMPLETED)
        if not main.done():
            await asyncio.wait({main}, timeout=LOOP_STOP_SECONDS)
    finally:
        told.cancel()
    if not main.done():
        log.warning("ARQ's poll loop did not end (Redis unreachable); stopping without it")
    elif not main.cancelled() and main.exception() is not None:
        raise main.exception()  # type: ignore[misc]


async def _close_within(worker: Worker, seconds: float) -> None:
    closing = asyncio.ensure_future(worker.close())
    done, _ = await asyncio.wait({closing}, timeout=seconds)
    if closing in done:
        with contextlib.suppress(Exception):
            closing.result()
        return
    log.warning(
        "Redis did not answer the clean-up within %gs; stopped without it (the health key "
        "and any lease expire by themselves)",
        seconds,
    )
    # What the skipped clean-up would have ended (the poll loop, the sweep, presence).
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in others:
        task.cancel()
    await asyncio.wait(others, timeout=0.2)
