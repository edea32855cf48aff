"""``process_message_batch`` and the hooks around it.

The protocol, in the order a batch lives it: claim (stable batch id) → backend →
answer stored under the batch id → parts sent one by one, each marked → release →
the job's end schedules whatever arrived meanwhile. Any step may be repeated after
a crash; none of them repeats a backend call or a sent part.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass
from typing import Any, NoReturn

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from arq import Retry
from pydantic import SecretStr

from backend_client import BackendClient, PermanentBackendError, RetryableBackendError
from shared import arq_layout, metrics
from shared.models import BatchResponse
from shared.ops_server import OpsServer
from shared.redis_connection import use_c_packing
from shared.settings import WorkerProcessSettings
from shared.store import BatchStore, ClaimedBatch
from worker.outbox import deliver_outbox
from worker.telegram import (
    ReplyPart,
    make_bot,
    pacing_seconds,
    reply_parts,
    send_part,
    show_typing,
    typing_while,
    unsplittable,
)

log = logging.getLogger("batchbot.worker")

SWEEP_BATCH_LIMIT = 500


class BatchDeadLettered(Exception):
    """The batch was kept as a dead letter; the job ends normally."""


@dataclass(frozen=True, slots=True)
class WorkerDeps:
    """What every job needs, created once per worker process in :func:`startup`."""

    settings: WorkerProcessSettings
    store: BatchStore
    backend: BackendClient
    telegram: Bot


def _deps(ctx: dict[str, Any]) -> WorkerDeps:
    deps: WorkerDeps = ctx["deps"]
    return deps


def backoff_seconds(settings: WorkerProcessSettings, job_try: int) -> float:
    """Exponential back-off with jitter, so retries of many batches do not arrive together."""
    ceiling = min(
        settings.backend_retry_max_seconds,
        settings.backend_retry_base_seconds * 2 ** max(0, job_try - 1),
    )
    return random.uniform(ceiling / 2, ceiling)


async def process_message_batch(ctx: dict[str, Any], conversation: str) -> str:
    deps = _deps(ctx)
    settings = deps.settings
    outcome = await deps.store.claim(
        conversation,
        max_messages=settings.batch_max_messages,
        recheck_after_ms=round(settings.recovery_seconds * 1000),
    )
    batch = outcome.batch
    if batch is None:
        metrics.BATCHES.labels(outcome.state).inc()
        return outcome.state + await _deliver_outbox(ctx, deps, conversation)
    if not batch.resumed:
        log.info(
            "batch %s of %s claimed: %d message(s), %d ms after its deadline",
            batch.batch_id,
            conversation,
            len(batch.request.messages),
            outcome.now_ms - batch.deadline_ms,
            extra=_ids(batch),
        )

    if not _meant_for_the_bot(settings, batch):
        await deps.store.release(batch)
        metrics.BATCHES.labels("not_addressed").inc()
        outbox = await _deliver_outbox(ctx, deps, conversation)
        return f"batch {batch.batch_id}: not addressed to the bot; not answered{outbox}"
    try:
        answer = batch.answer
        if answer is None:
            answer = await _ask_backend(ctx, deps, batch)
            if not await deps.store.save_answer(batch, answer):
                metrics.BATCHES.labels("claim_lost").inc()
                return "claim lost"
        sent = await _send_reply(ctx, deps, batch, answer)
    except BatchDeadLettered as dead:
        metrics.BATCHES.labels("dead_letter").inc()
        outbox = await _deliver_outbox(ctx, deps, conversation)
        return f"batch {batch.batch_id} dead-lettered: {dead}{outbox}"
    except Retry:
        metrics.BATCHES.labels("retry").inc()
        raise
    await deps.store.release(batch)
    metrics.BATCHES.labels(
        "answered" if sent == len(reply_parts(answer)) else "reply_dropped"
    ).inc()
    outbox = await _deliver_outbox(ctx, deps, conversation)
    return (
        f"batch {batch.batch_id}: {len(batch.request.messages)} messages, {sent} parts sent{outbox}"
    )


async def _deliver_outbox(ctx: dict[str, Any], deps: WorkerDeps, conversation: str) -> str:
    """Proactive messages wait for the reply in progress, then go out: never interleaved."""
    delivered = await deliver_outbox(
        deps.store,
        deps.telegram,
        deps.settings,
        conversation,
        retry_delay=backoff_seconds(deps.settings, ctx["job_try"]),
    )
    return f"; {delivered} proactive message(s) sent" if delivered else ""


def _meant_for_the_bot(settings: WorkerProcessSettings, batch: ClaimedBatch) -> bool:
    """Private chats always; groups when a message of the batch mentions or replies to the
    bot, unless GROUP_ANSWER_WHEN is 'always'."""
    if batch.request.chat.type == "private" or settings.group_answer_when == "always":
        return True
    return any(message.addresses_bot for message in batch.request.messages)


def _ids(batch: ClaimedBatch) -> dict[str, str]:
    """Log fields that let a reader follow one batch and one person."""
    return {"conversation": batch.conversation, "batch_id": batch.batch_id}


async def _ask_backend(ctx: dict[str, Any], deps: WorkerDeps, batch: ClaimedBatch) -> BatchResponse:
    """The backend's answer; Retry when it may work later; BatchDeadLettered when it won't."""
    if ctx["job_try"] == 1:
        metrics.BATCH_MESSAGES.observe(len(batch.request.messages))
        metrics.BATCH_WAIT_SECONDS.observe(max(0.0, time.time() - batch.first_at_ms / 1000))
    started = time.monotonic()
    result = "ok"
    chat_id, every = batch.request.chat.id, deps.settings.typing_refresh_seconds
    try:
        async with typing_while(deps.telegram, chat_id, every):
            return await deps.backend.answer(batch.request)
    except RetryableBackendError as error:
        result = "retryable"
        _retry_within_budget(deps, batch, error, backoff_seconds(deps.settings, ctx["job_try"]))
        await _dead_letter(deps, batch, f"retry budget spent: {error}", "backend_gave_up")
    except PermanentBackendError as error:
        result = "permanent"
        await _dead_letter(deps, batch, str(error), "backend_rejected")
    finally:
        metrics.BACKEND_SECONDS.labels(result).observe(time.monotonic() - started)


def _retry_within_budget(
    deps: WorkerDeps, batch: ClaimedBatch, error: Exception, delay: float
) -> None:
    """Raise ARQ's Retry if the batch may still wait ``delay``; return when the budget is spent."""
    spent = time.time() - batch.claimed_at_ms / 1000
    if spent + delay <= deps.settings.backend_retry_budget_seconds:
        log.warning(
            "batch %s: %s; retrying in %.1fs", batch.batch_id, error, delay, extra=_ids(batch)
        )
        raise Retry(defer=delay) from error


async def _dead_letter(deps: WorkerDeps, batch: ClaimedBatch, reason: str, cause: str) -> NoReturn:
    """Keep the batch, with why, for a person to replay.

    When the backend failed, the person hears BACKEND_FAILURE_REPLY; when Telegram did
    (``cause`` "telegram"), an apology would fail the same way.
    """
    log.error(
        "batch %s of %s dead-lettered: %s",
        batch.batch_id,
        batch.conversation,
        reason,
        extra=_ids(batch),
    )
    metrics.DEAD_LETTERS.labels(cause).inc()
    await deps.store.release(batch, dead_letter_reason=reason)
    apology = deps.settings.backend_failure_reply
    if cause != "telegram" and apology:
        try:
            await deps.telegram.send_message(batch.request.chat.id, apology)
        except (TelegramAPIError, TelegramNetworkError) as error:
            log.warning(
                "batch %s: apology not delivered: %s", batch.batch_id, error, extra=_ids(batch)
            )
    raise BatchDeadLettered(reason)


async def _send_reply(
    ctx: dict[str, Any], deps: WorkerDeps, batch: ClaimedBatch, answer: BatchResponse
) -> int:
    """Send the parts not sent yet, marking each; returns how many parts were sent in all."""
    parts = reply_parts(answer)
    chat_id = batch.request.chat.id
    for index in range(batch.sent, len(parts)):
        if index > 0:  # the person sees more is coming, as if it were being written
            await show_typing(deps.telegram, chat_id)
            await asyncio.sleep(pacing_seconds(deps.settings, parts[index]))
        try:
            await _send_then_mark(deps, batch, index, parts[index])
        except TelegramRetryAfter as error:
            metrics.TELEGRAM_ERRORS.labels("retry_after").inc()
            _retry_within_budget(deps, batch, error, error.retry_after)
            await _dead_letter(deps, batch, f"Telegram flood limit: {error}", "telegram")
        except (TelegramNetworkError, TelegramServerError) as error:
            kind = "network" if isinstance(error, TelegramNetworkError) else "server"
            metrics.TELEGRAM_ERRORS.labels(kind).inc()
            delay = backoff_seconds(deps.settings, ctx["job_try"])
            _retry_within_budget(deps, batch, error, delay)
            await _dead_letter(deps, batch, f"Telegram unavailable: {error}", "telegram")
        except TelegramForbiddenError:
            metrics.TELEGRAM_ERRORS.labels("forbidden").inc()
            log.warning(
                "batch %s: chat %s blocked the bot; reply dropped",
                batch.batch_id,
                chat_id,
                extra=_ids(batch),
            )
            return index
        except TelegramBadRequest as error:
            metrics.TELEGRAM_ERRORS.labels("bad_request").inc()
            log.error(
                "batch %s: Telegram refused part %d: %s",
                batch.batch_id,
                index + 1,
                error,
                extra=_ids(batch),
            )
            await deps.store.mark_sent(batch, index + 1)
    return len(parts)


async def _send_then_mark(
    deps: WorkerDeps, batch: ClaimedBatch, index: int, part: ReplyPart
) -> None:
    """Send one part and record it, as one step that cancellation cannot split."""

    request = batch.request
    # In a group, the answer's first message replies to the batch's last message.
    reply_to = part.reply_to
    if reply_to is None and index == 0 and request.chat.type != "private":
        reply_to = request.messages[-1].message_id

    async def step() -> None:
        await send_part(deps.telegram, request.chat.id, part, reply_to)
        metrics.REPLY_PARTS_SENT.inc()
        await deps.store.mark_sent(batch, index + 1)

    await unsplittable(step)


async def after_job_end(ctx: dict[str, Any]) -> None:
    """ARQ has removed the finished job: now the next batch can get a job of its own."""
    conversation = arq_layout.conversation_of_job(ctx["job_id"])
    if conversation is not None:
        state, run_at = await _deps(ctx).store.schedule(conversation)
        log.debug("after job %s: %s (run at %s)", ctx["job_id"], state, run_at)


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
                if state in ("rescheduled", "scheduled"):
                    log.warning("sweep: conversation %s had no job; %s", conversation, state)
        except Exception:
            log.exception("sweep failed; trying again in %.1fs", interval_seconds)


async def startup(ctx: dict[str, Any]) -> None:
    settings: WorkerProcessSettings = ctx["settings"]
    use_c_packing(ctx["redis"])  # ARQ's own commands and ours: about 26 per batch
    store = BatchStore(ctx["redis"], settings.redis_key_ttl_seconds)
    ctx["deps"] = WorkerDeps(
        settings=settings,
        store=store,
        backend=BackendClient(
            str(settings.backend_url),
            settings.backend_timeout_seconds,
            bearer_token=_secret(settings.backend_bearer_token),
            signing_secret=_secret(settings.backend_signing_secret),
        ),
        telegram=make_bot(settings),
    )
    ctx["sweep"] = asyncio.create_task(sweep_forever(store, settings.sweep_interval_seconds))
    ops = OpsServer(
        ctx["redis"], settings.metrics_host, settings.worker_metrics_port, "WORKER_METRICS_PORT"
    )
    if settings.worker_metrics_port:
        await ops.start()
    ctx["ops"] = ops


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


async def shutdown(ctx: dict[str, Any]) -> None:
    sweep: asyncio.Task[None] = ctx["sweep"]
    sweep.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sweep
    ops: OpsServer = ctx["ops"]
    await ops.stop()
    deps = _deps(ctx)
    await deps.backend.aclose()
    await deps.telegram.session.close()
