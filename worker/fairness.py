"""One tenant's flood does not delay the others: a tenant's batches in flight are capped
(MAX_BATCHES_IN_FLIGHT, per tenant in TENANTS_FILE), and a due job of a tenant at its cap
is parked out of ARQ's queue (``take_tenant_job.lua``), so the workers' polls, which read
the queue's earliest due jobs, reach the other tenants' at once. A parked job goes back,
at its own time and so first in line, when a batch of its tenant ends, or when a
worker's watch finds a slot freed by a worker that died (``unpark_jobs.lua``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from redis.asyncio import Redis

from shared import arq_layout
from shared.keys import TENANTS_PARKED, tenant_parked_key, tenant_running_key
from shared.redis_scripts import as_text, load_script
from shared.script_calls import ParkJobs, TakeTenantJob, UnparkJobs

if TYPE_CHECKING:
    from worker.tenants import WorkerTenants

log = logging.getLogger("batchbot.worker")

UNPARK_WATCH_SECONDS = 1.0
NO_LIMIT = 1_000_000
PARKED = -1
"""What ``take_tenant_job.lua`` answers for a job it parked."""
"""A removed tenant's parked jobs all go back: their batches become dead letters."""


@dataclass(frozen=True, slots=True)
class TenantLimit:
    tenant: str
    limit: int

    def take(self, queue: str, job_id: str, now_ms: int, lock_ms: int) -> TakeTenantJob:
        return TakeTenantJob(
            queue=queue,
            in_progress_key=arq_layout.in_progress_key(job_id),
            running_key=tenant_running_key(self.tenant),
            parked_key=tenant_parked_key(self.tenant),
            parked_tenants=TENANTS_PARKED,
            job_id=job_id,
            worker_now_ms=now_ms,
            lock_ms=lock_ms,
            limit=self.limit,
            tenant=self.tenant,
        )

    def park(self, queue: str, job_ids: list[str]) -> ParkJobs:
        return ParkJobs(
            queue=queue,
            parked_key=tenant_parked_key(self.tenant),
            parked_tenants=TENANTS_PARKED,
            tenant=self.tenant,
            in_progress_prefix=arq_layout.IN_PROGRESS_KEY_PREFIX,
            job_ids=job_ids,
        )

    def unpark(self, queue: str, ended_job: str, now_ms: int) -> UnparkJobs:
        return UnparkJobs(
            queue=queue,
            running_key=tenant_running_key(self.tenant),
            parked_key=tenant_parked_key(self.tenant),
            parked_tenants=TENANTS_PARKED,
            ended_job=ended_job,
            now_ms=now_ms,
            limit=self.limit,
            tenant=self.tenant,
        )


def limit_of_job(tenants: WorkerTenants | None, job_id: str) -> TenantLimit | None:
    """The cap on the job's tenant, if it has one."""
    if tenants is None:
        return None
    conversation = arq_layout.conversation_of_job(job_id)
    route = None if conversation is None else tenants.routes.route(conversation)
    if route is None:
        return None
    limit = route.tenant.settings.max_batches_in_flight
    return TenantLimit(route.tenant.name, limit) if limit else None


async def unpark_all(redis: Redis, tenants: WorkerTenants, queue: str, now_ms: int) -> int:
    """Every tenant with parked jobs gets as many back as it has free slots (the slots a
    dead worker held free themselves when their locks lapse)."""
    script = load_script(redis, "unpark_jobs")
    moved = 0
    for raw in await redis.smembers(TENANTS_PARKED):  # type: ignore[misc]
        name = as_text(raw)
        tenant = tenants.routes.tenant(name)
        limit = tenant.settings.max_batches_in_flight if tenant is not None else 0
        keys, args = TenantLimit(name, limit or NO_LIMIT).unpark(queue, "", now_ms).words()
        moved += int(await script(keys=keys, args=args))
    return moved


async def unpark_forever(redis: Redis, tenants: WorkerTenants) -> None:
    """Each second: parked jobs whose tenant has slots again (its batches' ends do this
    at once; this catches the slots of a worker that died)."""
    while True:
        await asyncio.sleep(UNPARK_WATCH_SECONDS)
        try:
            await unpark_all(redis, tenants, arq_layout.QUEUE, int(time.time() * 1000))
        except Exception:
            log.exception(
                "watch for parked jobs failed; trying again in %.1fs", UNPARK_WATCH_SECONDS
            )
