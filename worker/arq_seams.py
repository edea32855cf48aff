"""Everything batchbot overrides or re-implements of ARQ, in one place, written against
the ARQ of :data:`ARQ_VERSION` (the version pinned in requirements.lock; a test holds the
installed one, the pin and ``shared.arq_layout`` equal). Nothing else reaches into ARQ's
private state:

- the job: :func:`process_message_batch` turns a run's :class:`worker.outcome.Outcome`
  into ARQ's result line or its ``Retry``;
- the pick: :meth:`BatchWorker.start_jobs` takes a job in one call (``take_job.lua``);
- the finish: :meth:`BatchWorker.finish_job` ends a batch job and schedules the next
  batch's in one call (``schedule.lua``);
- the lock, the keys and the payload a Lua script writes: ``lua/arq_jobs.lua`` and
  :mod:`shared.arq_layout` (the bot has no ARQ: it writes jobs from Lua);
- the stop: :func:`run_until_stopped` bounds ``Worker.run``'s end.

Running one worker process until SIGTERM or SIGINT, and then stopping in bounded time:
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

from arq import Retry
from arq.utils import timestamp_ms
from arq.worker import Worker, get_kwargs
from redis.commands.core import AsyncScript

from shared import arq_layout
from shared.logs import serving_tenant
from shared.pipelining import NotReplicated
from shared.redis_scripts import load_script
from shared.script_call import ScriptCall
from shared.script_calls import TakeJob
from worker.fairness import PARKED, TenantLimit, limit_of_job
from worker.job_end import schedule_next
from worker.jobs import BatchRun
from worker.lifecycle import deps_of

log = logging.getLogger("batchbot.worker")

ARQ_VERSION = "0.28.0"
"""The ARQ whose internals this module and ``shared.arq_layout`` were checked against."""

RETRY = 1.0  # seconds: a job whose write lacked replicas, or that runs here already


async def process_message_batch(ctx: dict[str, Any], conversation: str) -> str:
    """ARQ's job: one step of the protocol; what it came to, for ARQ's log line, or ARQ's
    Retry when the run asks for one. A write the replicas did not confirm retries it (the
    run resumes). After a Redis outage longer than a lease ARQ may start it again in the
    worker still running it: that run waits for the first."""
    deps = await deps_of(ctx).for_conversation(conversation)
    serving_tenant(deps.tenant)
    if conversation in deps.running:
        log.warning("conversation %s: its job still runs here; again in %.1fs", conversation, RETRY)
        raise Retry(defer=RETRY)
    deps.running.add(conversation)
    try:
        outcome = await BatchRun(deps, job_try=ctx["job_try"]).process(conversation)
    except NotReplicated as error:
        # DEBUG: the store's replica watch logs once when the shortfall begins and once
        # when it ends; a line per conversation per second would bury everything else.
        log.debug("conversation %s: %s; retrying in %.1fs", conversation, error, RETRY)
        raise Retry(defer=RETRY) from error
    finally:
        deps.running.discard(conversation)
    if outcome.retry_in is not None:
        raise Retry(defer=outcome.retry_in)
    return outcome.line


LOOP_STOP_SECONDS = 0.5
CLEANUP_SECONDS = 1.0
"""After the grace: the poll loop's end, then the health key, presence and connections."""


class BatchWorker(Worker):
    """ARQ's worker, picking jobs in one Redis round trip instead of four.

    ARQ's ``start_jobs`` WATCHes a job's lock, asks EXISTS and ZSCORE, then sets the lock
    in MULTI/EXEC: four round trips for every job it starts, and for every job it finds
    running. Here ``take_job.lua`` (``lua/arq_jobs.lua``) makes the same check and takes
    the same lock in one atomic call, and the ids of jobs this worker is running are
    passed over without asking (ARQ leaves a running job in its queue until it ends, so
    every poll read them again). This also closes a gap of ARQ's: when the connection
    dropped while ARQ WATCHed a lock (a failover, a Redis restart), redis-py raised
    WatchError outside ARQ's handler and the poll loop died with the worker; a script
    call is retried like any other command. Should a reply be lost after the lock was
    taken, the retry finds the job locked and leaves it: the sweep frees a lock that no
    lease follows within a lease (``schedule.lua``).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._scripts: dict[str, AsyncScript] = {}
        # The next batch is scheduled in finish_job, in the call that ends the job: ARQ's
        # after_job_end hook (which its own CLI still uses) would schedule it a second time.
        kwargs.pop("after_job_end", None)
        super().__init__(*args, **kwargs)

    async def finish_job(
        self,
        job_id: str,
        finish: bool,
        result_data: bytes | None,
        result_timeout_s: float | None,
        keep_result_forever: bool,
        incr_score: int | None,
        keep_in_progress: float | None,
    ) -> None:
        """ARQ's end of a job and the next batch's job in one atomic call (``schedule.lua``)
        where a batch job ends for good and keeps no result, as batchbot's do; otherwise
        ARQ's own end (a retry, any other job), then the next batch's job as before."""
        conversation = arq_layout.conversation_of_job(job_id)
        ends_whole = finish and not result_data and keep_in_progress is None
        if conversation is None or not ends_whole:
            await super().finish_job(
                job_id,
                finish,
                result_data,
                result_timeout_s,
                keep_result_forever,
                incr_score,
                keep_in_progress,
            )
        if conversation is not None:
            await schedule_next(deps_of(self.ctx), conversation, job_ended=ends_whole)
            limit = limit_of_job(deps_of(self.ctx).tenants, job_id)
            if limit is not None:  # a slot of its tenant is free: a parked job may go
                await self._run(limit.unpark(self.queue_name, job_id, timestamp_ms()))

    async def _run(self, call: ScriptCall) -> Any:
        script = self._scripts.get(call.script)
        if script is None:
            script = self._scripts[call.script] = load_script(self.pool, call.script)
        keys, args = call.words()
        return await script(keys=keys, args=args)

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        """ARQ's ``start_jobs``, the same slots and tasks, with the one-call pick; a tenant
        found at its cap on batches in flight has its other due jobs of this poll parked
        in one call (:mod:`worker.fairness`)."""
        lock_ms = int(self.in_progress_timeout_s * 1000)
        tenants = deps_of(self.ctx).tenants
        at_cap: dict[str, tuple[TenantLimit, list[str]]] = {}
        try:
            for raw_id in job_ids:
                job_id = raw_id.decode()
                running = self.tasks.get(job_id)
                if running is not None and not running.done():
                    continue
                limit = limit_of_job(tenants, job_id)
                if limit is not None and limit.tenant in at_cap:
                    at_cap[limit.tenant][1].append(job_id)
                    continue
                await self.sem.acquire()
                if self.job_counter >= self.max_jobs:
                    self.sem.release()
                    return
                self.job_counter += 1
                if await self._take(job_id, limit, lock_ms) == PARKED and limit is not None:
                    at_cap[limit.tenant] = (limit, [])
        finally:
            for limit, more in at_cap.values():
                if more:
                    await self._run(limit.park(self.queue_name, more))

    async def _take(self, job_id: str, limit: TenantLimit | None, lock_ms: int) -> int:
        """The job started here (its score), or 0 (taken elsewhere, gone) or PARKED."""
        call: ScriptCall = (
            TakeJob(
                queue=self.queue_name,
                in_progress_key=arq_layout.in_progress_key(job_id),
                job_id=job_id,
                worker_now_ms=timestamp_ms(),
                lock_ms=lock_ms,
            )
            if limit is None
            else limit.take(self.queue_name, job_id, timestamp_ms(), lock_ms)
        )
        try:
            score = int(await self._run(call) or 0)
        except BaseException:
            self._release_sem_dec_counter_on_complete()
            raise
        if score <= 0:
            self._release_sem_dec_counter_on_complete()
            return score
        task = self.loop.create_task(self.run_job(job_id, score))
        task.add_done_callback(lambda _: self._release_sem_dec_counter_on_complete())
        self.tasks[job_id] = task
        return score


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
