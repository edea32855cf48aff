"""A worker process's start and end: what every job shares, and the sweep beside them.

ARQ calls :func:`startup` once per process before the first job and :func:`shutdown`
after the last; jobs reach what startup made through :func:`deps_of`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from backend_client import BackendClient
from channels.telegram import TelegramSender, make_bot
from shared.ops_server import OpsServer
from shared.outbox import Outbox
from shared.redis_connection import use_c_packing
from shared.store import BatchStore, ScheduleState
from worker.delivery import Pacing
from worker.settings import WorkerProcessSettings

log = logging.getLogger("batchbot.worker")

SWEEP_BATCH_LIMIT = 500


@dataclass(frozen=True, slots=True)
class WorkerDeps:
    """What every job needs, created once per worker process in :func:`startup`."""

    settings: WorkerProcessSettings
    store: BatchStore
    outbox: Outbox
    backend: BackendClient
    sender: TelegramSender

    @property
    def pacing(self) -> Pacing:
        return Pacing(
            self.settings.reply_pacing_seconds_per_character,
            self.settings.reply_pacing_max_seconds,
        )


def deps_of(ctx: dict[str, Any]) -> WorkerDeps:
    deps: WorkerDeps = ctx["deps"]
    return deps


async def startup(ctx: dict[str, Any]) -> None:
    settings: WorkerProcessSettings = ctx["settings"]
    use_c_packing(ctx["redis"])  # ARQ's own commands and ours: about 26 per batch
    store = BatchStore(ctx["redis"], settings.redis_key_ttl_seconds)
    ctx["deps"] = WorkerDeps(
        settings=settings,
        store=store,
        outbox=Outbox(ctx["redis"], settings.redis_key_ttl_seconds),
        backend=BackendClient(
            str(settings.backend_url),
            settings.backend_timeout_seconds,
            bearer_token=_secret(settings.backend_bearer_token),
            signing_secret=_secret(settings.backend_signing_secret),
        ),
        sender=TelegramSender(make_bot(settings, settings.telegram_timeout_seconds)),
    )
    ctx["sweep"] = asyncio.create_task(sweep_forever(store, settings.sweep_interval_seconds))
    sock = ctx.get("ops_socket")  # bound by worker_options, so the health key names its port
    if sock is not None:
        ops = OpsServer(ctx["redis"], sock)
        await ops.start()
        ctx["ops"] = ops


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


async def shutdown(ctx: dict[str, Any]) -> None:
    """Stop what :func:`startup` started, as far as it got (ARQ calls this after a failed
    start-up too, and a second error would bury the first)."""
    sweep: asyncio.Task[None] | None = ctx.get("sweep")
    if sweep is not None:
        sweep.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweep
    ops: OpsServer | None = ctx.get("ops")
    if ops is not None:
        await ops.stop()
    deps: WorkerDeps | None = ctx.get("deps")
    if deps is not None:
        await deps.backend.aclose()
        await deps.sender.aclose()


async def sweep_forever(store: BatchStore, interval_seconds: float) -> None:
    """Give a job to every conversation whose next step is overdue.

    A worker can die between ARQ finishing a job and ``after_job_end``, and ARQ drops
    jobs that exceed their tries; the pending index still knows these conversations.
    """
    grace_ms = round(max(1.0, interval_seconds) * 1000)
    while True:
        await asyncio.sleep(interval_seconds)
        try:
            overdue = await store.overdue(int(time.time() * 1000) - grace_ms, SWEEP_BATCH_LIMIT)
            for conversation in overdue:
                state, _ = await store.schedule(conversation)
                if state in (ScheduleState.RESCHEDULED, ScheduleState.SCHEDULED):
                    log.warning("sweep: conversation %s had no job; %s", conversation, state)
        except Exception:
            log.exception("sweep failed; trying again in %.1fs", interval_seconds)
