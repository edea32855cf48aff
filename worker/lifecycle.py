"""A worker process's start and end: what every job shares, and the sweep beside them.

ARQ calls :func:`startup` once per process before the first job and :func:`shutdown`
after the last; jobs reach what startup made through :func:`deps_of`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from backend_client import BackendClient, OpenAIChatClient, TranscriptionClient
from channels.adapter import ChannelAdapter
from channels.base import ChannelSender
from channels.registry import adapter_class, adapters_of
from shared.handoff import Handoffs
from shared.history import HistoryRules
from shared.keys import channel_of
from shared.leases import BatchLeases
from shared.media_cache import MediaCache
from shared.models import Channel
from shared.ops_server import OpsServer
from shared.outbox import Outbox
from shared.redaction import Redactor, secrets_of
from shared.redis_connection import outage_retry, use_c_packing, use_failover_connections
from shared.states import ScheduleState
from shared.store import BatchStore
from shared.transcriptions import Transcriptions
from worker.abandons import AbandonWatch
from worker.backends import backend_of, secret
from worker.delivery import Pacing
from worker.presence import announce_forever, withdraw
from worker.settings import WorkerProcessSettings
from worker.tenants import WorkerTenants, serve_tenants
from worker.transcribing import Transcriber

log = logging.getLogger("batchbot.worker")

SWEEP_BATCH_LIMIT = 500
UNCLAIMED_WATCH_SECONDS = 1.0
"""How often each worker looks for jobs whose worker died before claiming them."""


class ChannelNotConfigured(Exception):
    """A batch of a channel this worker has no credentials for."""


@dataclass(frozen=True, slots=True)
class WorkerDeps:
    """What every job needs, created once per worker process in :func:`startup`."""

    settings: WorkerProcessSettings
    store: BatchStore
    leases: BatchLeases
    outbox: Outbox
    backend: BackendClient | OpenAIChatClient
    adapters: dict[Channel, ChannelAdapter]
    """Every configured channel (:mod:`channels.registry`)."""
    senders: dict[Channel, ChannelSender]
    history: HistoryRules
    redact: Redactor
    """Cuts this process's secrets out of what it stores and sends (as logs are cut)."""
    handoffs: Handoffs
    abandons: AbandonWatch = field(default_factory=AbandonWatch)
    media_cache: MediaCache | None = None
    """Photos fetched ahead for a model that sees images (BACKEND_VISION)."""
    running: set[str] = field(default_factory=set)
    """Conversations whose job runs in this worker now (see :mod:`worker.jobs`)."""
    tenants: WorkerTenants | None = None
    """With TENANTS_FILE: every tenant's view of these (:meth:`for_conversation`)."""
    tenant: str | None = None
    """The tenant this view is of (None: the worker's own, before a conversation)."""

    async def for_conversation(self, conversation: str) -> WorkerDeps:
        """What a job of this conversation uses: its tenant's settings, backend and
        sender (a conversation no tenant serves gets none, so its batch is a dead
        letter that says so)."""
        if self.tenants is None:
            return self
        view = await self.tenants.resolve(conversation)
        if view is not None:
            return view
        former = self.tenants.former_tenant(conversation)  # a removed tenant's, named
        return replace(self, adapters={}, senders={}, tenant=former)

    def sender_for(self, conversation: str) -> ChannelSender:
        """The sender of the conversation's channel; ChannelNotConfigured without one."""
        channel = channel_of(conversation)
        sender = self.senders.get(channel)
        if self.tenants is not None and self.tenant is None:
            sender = self.tenants.sender_for(conversation)
        if sender is None and self.tenants is not None:
            was = f" (tenant {self.tenant}'s until it was removed)" if self.tenant else ""
            raise ChannelNotConfigured(
                f"no tenant serves the account of {conversation}{was} (TENANTS_FILE or the "
                "environment): add it back, then replay the dead letter"
            )
        if sender is None:
            setting = adapter_class(channel).credential
            raise ChannelNotConfigured(
                f"{channel.value} is not configured on this worker: set {setting}, then "
                "replay the dead letter"
            )
        return sender

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
    if settings.sentinel_addresses:  # ARQ's Sentinel pool takes no retry options
        await ctx["redis"].connection_pool.disconnect()
        use_failover_connections(
            ctx["redis"], outage_retry(settings.redis_outage_tolerance_seconds)
        )
    redact = Redactor(secrets_of(settings))
    store = BatchStore(
        ctx["redis"], settings.redis_key_ttl_seconds, settings.redis_wait_replicas, redact
    )
    await store.replicas.check_at_start(ctx["redis"])
    adapters = {adapter.channel: adapter for adapter in adapters_of(settings)}
    ctx["deps"] = WorkerDeps(
        settings=settings,
        store=store,
        leases=BatchLeases(ctx["redis"], settings.redis_key_ttl_seconds, store.scripts),
        outbox=Outbox(ctx["redis"], settings.redis_key_ttl_seconds, store.scripts),
        backend=backend_of(settings),
        adapters=adapters,
        senders=channel_senders(adapters.values(), settings.typing_refresh_seconds),
        history=HistoryRules(
            settings.history_turns, settings.history_max_bytes, settings.history_ttl_seconds
        ),
        redact=redact,
        handoffs=Handoffs(ctx["redis"], settings.redis_key_ttl_seconds, store.scripts),
        media_cache=(
            MediaCache(ctx["redis"], store.scripts, settings.media_cache_max_bytes)
            if settings.batching_rules().prefetch_photos
            else None
        ),
    )
    if settings.tenants_file is not None:
        await serve_tenants(ctx, settings)
    ctx["abandon_watch"] = asyncio.create_task(ctx["deps"].abandons.listen_forever(ctx["redis"]))
    ctx["sweep"] = asyncio.create_task(sweep_forever(store, settings))
    ctx["unclaimed_watch"] = asyncio.create_task(watch_unclaimed_jobs(store, settings))
    transcriber = transcriber_of(ctx["deps"])
    if transcriber is not None:
        ctx["transcriber"] = asyncio.create_task(transcriber.run_forever())
        ctx["transcription_client"] = transcriber.client
    if "worker_name" in ctx:
        interval = settings.worker_health_check_interval_seconds
        ctx["presence"] = asyncio.create_task(
            announce_forever(ctx["redis"], ctx["worker_name"], interval)
        )
    sock = ctx.get("ops_socket")  # bound by worker_options, so the health key names its port
    if sock is not None:
        ops = OpsServer(ctx["redis"], sock)
        await ops.start()
        ctx["ops"] = ops
    # Start-up leaves about 200,000 long-lived objects (aiogram's and the contract's
    # models): frozen, a full collection no longer walks them (130 ms of pause each time,
    # measured), which held up every batch of the worker.
    gc.collect()
    gc.freeze()


def transcriber_of(deps: WorkerDeps) -> Transcriber | None:
    """Voice notes transcribed (TRANSCRIBE_URL) and photos fetched ahead (BACKEND_VISION)
    by this worker too, while people write."""
    settings = deps.settings
    if settings.transcribe_url is None and deps.media_cache is None:
        return None
    client = None
    if settings.transcribe_url is not None:
        client = TranscriptionClient(
            str(settings.transcribe_url),
            settings.transcribe_timeout_seconds,
            settings.transcribe_model,
            secret(settings.transcribe_api_key),
            settings.transcribe_language,
            settings.transcribe_concurrency,
        )
    queue = Transcriptions(deps.store.redis, deps.store.scripts, settings.redis_key_ttl_seconds)
    return Transcriber(queue, client, deps.sender_for, settings, deps.media_cache)


def channel_senders(
    adapters: Iterable[ChannelAdapter], typing_refresh_seconds: float
) -> dict[Channel, ChannelSender]:
    """A sender for every configured channel."""
    return {a.channel: a.make_sender(typing_refresh_seconds) for a in adapters}


async def shutdown(ctx: dict[str, Any]) -> None:
    """Stop what :func:`startup` started, as far as it got (ARQ calls this after a failed
    start-up too, and a second error would bury the first)."""
    for name in (
        "sweep", "unclaimed_watch", "presence", "abandon_watch", "transcriber", "tenants_watch",
        "unpark_watch",
    ):  # fmt: skip
        task: asyncio.Task[None] | None = ctx.get(name)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    if "presence" in ctx:
        with contextlib.suppress(Exception):
            await withdraw(ctx["redis"], ctx["worker_name"])
    ops: OpsServer | None = ctx.get("ops")
    if ops is not None:
        await ops.stop()
    if ctx.get("transcription_client") is not None:
        await ctx["transcription_client"].aclose()
    deps: WorkerDeps | None = ctx.get("deps")
    if deps is not None:
        await deps.backend.aclose()
        for sender in deps.senders.values():
            await sender.aclose()


async def sweep_forever(store: BatchStore, settings: WorkerProcessSettings) -> None:
    """Give a job to every conversation whose next step is overdue.

    A worker can die while a job runs, or between ARQ handing it a job and its claim
    (and under ARQ's own CLI, between ARQ finishing a job and ``after_job_end``), and ARQ
    drops jobs that exceed their tries; the pending index still knows these
    conversations.
    """
    interval_seconds = settings.sweep_interval_seconds
    grace_ms = round(max(1.0, interval_seconds) * 1000)
    while True:
        await asyncio.sleep(interval_seconds)
        try:
            await _schedule_overdue(store, settings, int(time.time() * 1000) - grace_ms)
        except Exception:
            log.exception("sweep failed; trying again in %.1fs", interval_seconds)


async def _schedule_overdue(
    store: BatchStore, settings: WorkerProcessSettings, before_ms: int
) -> None:
    overdue = await store.overdue(before_ms, SWEEP_BATCH_LIMIT)
    if not overdue:
        return
    scheduled = await store.schedule_many(overdue, settings.lease_ms, settings.lock_ms)
    for conversation, (state, _) in zip(overdue, scheduled, strict=True):
        if state in (ScheduleState.RESCHEDULED, ScheduleState.SCHEDULED):
            log.warning("sweep: conversation %s had no job; %s", conversation, state)


async def watch_unclaimed_jobs(
    store: BatchStore,
    settings: WorkerProcessSettings,
    interval_seconds: float = UNCLAIMED_WATCH_SECONDS,
) -> None:
    """Free every job whose worker died between ARQ's pick and the claim.

    Once claimed, a job's lock lapses with its lease (``shared.leases``); before the
    claim ARQ's lock is the job timeout plus 10 s. A job overdue by a lease, whose lock
    is older than a lease and holds no lease, has lost its worker (``schedule.lua``).
    """
    while True:
        await asyncio.sleep(interval_seconds)
        try:
            now_ms = int(time.time() * 1000)
            await _schedule_overdue(store, settings, now_ms - settings.lease_ms)
        except Exception:
            log.exception(
                "watch for unclaimed jobs failed; trying again in %.1fs", interval_seconds
            )
