"""The end of a conversation's job: what came while it ran gets a job of its own."""

from __future__ import annotations

import logging
from typing import Any

from shared import arq_layout
from worker.lifecycle import WorkerDeps, deps_of

log = logging.getLogger("batchbot.worker")


async def after_job_end(ctx: dict[str, Any]) -> None:
    """ARQ has removed the finished job: now the next batch can get a job of its own.

    ARQ's own CLI calls this; batchbot's worker (:class:`worker.arq_seams.BatchWorker`) does
    the same inside ARQ's end of the job, in one call, and does not use this hook."""
    conversation = arq_layout.conversation_of_job(ctx["job_id"])
    if conversation is not None:
        await schedule_next(deps_of(ctx), conversation, job_ended=False)


async def schedule_next(deps: WorkerDeps, conversation: str, job_ended: bool) -> None:
    """Give what came while the job ran a job of its own; with ``job_ended``, end the run's
    job as ARQ would first, in the same call."""
    state, at = await deps.store.schedule(
        conversation, deps.settings.lease_ms, deps.settings.lock_ms, job_ended
    )
    log.debug("after the job of %s: %s (run at %s)", conversation, state, at)
