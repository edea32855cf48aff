"""``process_message_batch``: the batch protocol, step by step.

Claim the due messages as one batch with a stable id; ask the backend unless the answer
is stored, and store it before sending; deliver the parts not sent yet, marking each
(:mod:`worker.delivery`); release the batch (or keep it as a dead letter), then send
proactive messages; when the job ends, :mod:`worker.job_end` schedules what came
meanwhile. Any step may be repeated after a crash; none repeats a backend call or a sent
part; a failure that may pass is retried within a budget, then is a dead letter.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from dataclasses import dataclass
from typing import Any, NoReturn

from arq import Retry

from backend_client import PermanentBackendError, RetryableBackendError
from channels.base import ChannelSender, Recipient
from channels.outcomes import RetryAfter, Unavailable
from shared import metrics
from shared.claimed import Abandoned
from shared.history import with_history
from shared.keys import channel_of
from shared.models import BatchResponse
from shared.pipelining import NotReplicated
from shared.redaction import redacted_answer
from shared.states import AbandonReason, BatchOutcome, ClaimState, Released
from shared.store import ClaimedBatch
from worker.abandons import until_abandoned
from worker.answered import Answered, what_arrived
from worker.delivery import ClaimLost, Delivered, deliver
from worker.leasing import lease_kept
from worker.lifecycle import ChannelNotConfigured, WorkerDeps, deps_of
from worker.outbox import deliver_outbox
from worker.policy import answerable, backoff_seconds
from worker.progress import draft_id_of, progress_shown
from worker.reply_parts import ReplyPart, batch_reply_target, reply_parts
from worker.takeover import claim_after_pause, hand_over

log = logging.getLogger("batchbot.worker")

RETRY = 1.0  # seconds: a job whose write lacked replicas, or that runs here already


class BatchDeadLettered(Exception):
    """The batch was kept as a dead letter; the job ends normally."""


async def process_message_batch(ctx: dict[str, Any], conversation: str) -> str:
    """ARQ's job: one step of the protocol; what it did, for logs. A write the replicas
    did not confirm retries it (the run resumes). After a Redis outage longer than a lease
    ARQ may start it again in the worker still running it: that run waits for the first."""
    deps = deps_of(ctx)
    if conversation in deps.running:
        log.warning("conversation %s: its job still runs here; again in %.1fs", conversation, RETRY)
        raise Retry(defer=RETRY)
    deps.running.add(conversation)
    try:
        return await BatchRun(deps, job_try=ctx["job_try"]).process(conversation)
    except NotReplicated as error:
        # DEBUG: the store's replica watch logs once when the shortfall begins and once
        # when it ends; a line per conversation per second would bury everything else.
        log.debug("conversation %s: %s; retrying in %.1fs", conversation, error, RETRY)
        raise Retry(defer=RETRY) from error
    finally:
        deps.running.discard(conversation)


def _ids(batch: ClaimedBatch) -> dict[str, str]:
    """Log fields that let a reader follow one batch and one person."""
    channel = batch.request.channel.value
    return {"conversation": batch.conversation, "batch_id": batch.batch_id, "channel": channel}


def _recipient(batch: ClaimedBatch) -> Recipient:
    return Recipient(batch.conversation, batch.request.messages[-1].message_id)


def _count(conversation: str, outcome: BatchOutcome | ClaimState | AbandonReason) -> None:
    metrics.BATCHES.labels(channel_of(conversation).value, outcome).inc()


@dataclass(frozen=True, slots=True)
class BatchRun:
    """One run of a conversation's job: its ``job_try`` sets the back-off of any retry."""

    deps: WorkerDeps
    job_try: int

    async def process(self, conversation: str) -> str:
        settings, store = self.deps.settings, self.deps.store
        outcome = await claim_after_pause(self.deps, conversation)
        batch = outcome.batch
        if batch is None:
            _count(conversation, outcome.state)
            return outcome.state + await self._deliver_outbox(conversation)
        if batch.resumed:
            said = f"resumed: run {self.job_try}, {batch.sent} part(s) sent before"
        else:
            late = outcome.now_ms - batch.deadline_ms
            said = (
                f"claimed: {len(batch.request.messages)} message(s), {late} ms after its deadline"
            )
        log.info("batch %s of %s %s", batch.batch_id, conversation, said, extra=_ids(batch))
        if batch.abandoned is not None:
            return await self._drop(batch, Abandoned(batch.batch_id, batch.abandoned))
        adapter = self.deps.adapters.get(batch.request.channel)
        batch, unanswered = await answerable(settings, store.redis, batch, adapter)
        if unanswered is not None:
            await store.release(batch)
            _count(conversation, unanswered.outcome)
            log.info(
                "batch %s: %s; not answered", batch.batch_id, unanswered.reason, extra=_ids(batch)
            )
            outbox = await self._deliver_outbox(conversation)
            return f"batch {batch.batch_id}: {unanswered.reason}; not answered{outbox}"
        try:
            with self.deps.abandons.watching(conversation) as abandoned:
                kept = lease_kept(
                    self.deps.leases, batch, settings.lease_ms, abandoned.set, (BatchDeadLettered,)
                )
                async with kept:
                    answered = await self._answer(batch, abandoned)
            released = await store.release(
                batch,
                dead_letter_reason=answered.refusal,
                remember=answered.turns(batch.request),
                history=self.deps.history,
            )
            if not released:
                raise ClaimLost(f"batch {batch.batch_id}: taken over before its release")
        except Abandoned as dropped:
            return await self._drop(batch, dropped)
        except ClaimLost as lost:
            _count(conversation, BatchOutcome.CLAIM_LOST)
            log.warning("%s; this run stops", lost, extra=_ids(batch))
            return "claim lost"
        except BatchDeadLettered as dead:
            _count(conversation, BatchOutcome.DEAD_LETTER)
            outbox = await self._deliver_outbox(conversation)
            return f"batch {batch.batch_id} dead-lettered: {dead}{outbox}"
        except Retry:
            _count(conversation, BatchOutcome.RETRY)
            raise
        return await self._answered(batch, answered, released)

    async def _answered(self, batch: ClaimedBatch, answered: Answered, released: Released) -> str:
        """Count and summarise an answered batch (or one kept because parts were refused)."""
        conversation, refusal = batch.conversation, answered.refusal
        if refusal:
            _count(conversation, BatchOutcome.REFUSED)
            metrics.DEAD_LETTERS.labels(batch.request.channel.value, "refused").inc()
            log.error(
                "batch %s of %s dead-lettered: %s", batch.batch_id, conversation, refusal,
                extra=_ids(batch),
            )  # fmt: skip
        else:
            done = BatchOutcome.ANSWERED if answered.halted is None else BatchOutcome.HANDED_OVER
            _count(conversation, done)
        # Proactive messages queued after this release get a job of their own at its end.
        waiting = released is Released.OUTBOX_WAITING
        outbox = await self._deliver_outbox(conversation) if waiting else ""
        return answered.result_line(batch.batch_id, len(batch.request.messages)) + outbox

    async def _drop(self, batch: ClaimedBatch, abandoned: Abandoned) -> str:
        """Release an abandoned batch unanswered: its messages were put back in front of
        the newer ones (superseded) or held for the human (handed over)."""
        with contextlib.suppress(Abandoned):
            await self.deps.store.release(batch)
        _count(batch.conversation, abandoned.why)
        log.info("%s; its answer is never sent", abandoned, extra=_ids(batch))
        outbox = await self._deliver_outbox(batch.conversation)
        return f"{abandoned}; not answered{outbox}"

    async def _answer(self, batch: ClaimedBatch, abandoned: asyncio.Event) -> Answered:
        """The backend's answer (asked once, stored before anything is sent, never once the
        batch is abandoned), delivered, and what reached the person; a person who cannot
        be reached makes the batch a dead letter at once."""
        try:
            sender = self.deps.sender_for(batch.conversation)
        except ChannelNotConfigured as error:
            await self._dead_letter(batch, str(error), "channel_not_configured")
        answer = batch.answer
        if answer is None:
            redis = self.deps.store.redis
            asked = await until_abandoned(self._ask_backend(batch, sender), abandoned, redis, batch)
            answer = redacted_answer(asked, self.deps.redact)
            if not await self.deps.store.save_answer(batch, answer):
                raise ClaimLost(f"batch {batch.batch_id}: taken over while the backend answered")
        parts = reply_parts(answer, batch_reply_target(batch.request), sender.limits)
        delivered = await self._send_reply(batch, parts, sender)
        if delivered.undeliverable is not None:
            reason = (
                f"not delivered after {delivered.parts_done} part(s): {delivered.undeliverable}"
            )
            await self._dead_letter(batch, reason, "undeliverable")
        if answer.handoff and delivered.halted is None:
            delivered = await hand_over(self.deps, batch, delivered)
        return what_arrived(parts, delivered, batch.refused, sender.channel.value)

    @property
    def retry_delay(self) -> float:
        return backoff_seconds(self.deps.settings, self.job_try)

    async def _ask_backend(self, batch: ClaimedBatch, sender: ChannelSender) -> BatchResponse:
        """The backend's answer; Retry when it may work later; BatchDeadLettered when not."""
        if self.job_try == 1:
            metrics.BATCH_MESSAGES.observe(len(batch.request.messages))
            metrics.BATCH_WAIT_SECONDS.observe(max(0.0, time.time() - batch.first_at_ms / 1000))
        started = time.monotonic()
        result = "ok"
        to, draft_id = _recipient(batch), draft_id_of(batch.batch_id)
        # A retried or resumed run does not replay its draft from the start, as if new:
        # the person already saw the answer begin once; "typing…" shows instead.
        first_run = self.job_try == 1 and not batch.resumed
        per_second = self.deps.settings.draft_updates_per_second if first_run else 0.0
        request = await with_history(self.deps.store.redis, batch, self.deps.history)
        try:
            fetch = sender.fetch_image if self.deps.settings.backend_vision else None
            async with progress_shown(sender, to, draft_id, per_second) as on_text:
                return await self.deps.backend.answer(request, on_text, fetch)
        except RetryableBackendError as error:
            result = "retryable"
            self._retry_within_budget(batch, error, self.retry_delay)
            await self._dead_letter(batch, f"retry budget spent: {error}", "backend_gave_up")
        except PermanentBackendError as error:
            result = "permanent"
            await self._dead_letter(batch, str(error), "backend_rejected")
        finally:
            metrics.BACKEND_SECONDS.labels(result).observe(time.monotonic() - started)

    async def _send_reply(
        self, batch: ClaimedBatch, parts: list[ReplyPart], sender: ChannelSender
    ) -> Delivered:
        """Deliver the parts not sent yet; Retry or a dead letter when the chat fails."""
        try:
            return await deliver(
                sender,
                _recipient(batch),
                parts,
                batch.sent,
                functools.partial(self.deps.store.mark_sent, batch),
                self.deps.pacing,
                what=f"batch {batch.batch_id}",
                log_fields=_ids(batch),
                may_go=functools.partial(self.deps.leases.begin_part, batch),
                mark_refused=functools.partial(self.deps.store.mark_refused, batch),
            )
        except RetryAfter as error:
            self._retry_within_budget(batch, error, error.seconds)
            await self._dead_letter(batch, str(error), "unavailable")
        except Unavailable as error:
            self._retry_within_budget(batch, error, self.retry_delay)
            await self._dead_letter(batch, str(error), "unavailable")

    def _retry_within_budget(self, batch: ClaimedBatch, error: Exception, delay: float) -> None:
        """Raise ARQ's Retry if the batch may still wait ``delay``; return when it may not."""
        spent = time.time() - batch.claimed_at_ms / 1000
        if spent + delay <= self.deps.settings.backend_retry_budget_seconds:
            log.warning(
                "batch %s: %s; retrying in %.1fs", batch.batch_id, error, delay, extra=_ids(batch)
            )
            raise Retry(defer=delay) from error

    async def _dead_letter(self, batch: ClaimedBatch, reason: str, cause: str) -> NoReturn:
        """Keep the batch, with why, for a person to replay.

        When the backend failed, the person hears BACKEND_FAILURE_REPLY; when the chat
        did, an apology would fail the same way.
        """
        log.error(
            "batch %s of %s dead-lettered: %s",
            batch.batch_id,
            batch.conversation,
            reason,
            extra=_ids(batch),
        )
        if not await self.deps.store.release(batch, dead_letter_reason=reason):
            raise ClaimLost(f"batch {batch.batch_id}: taken over before its dead letter")
        metrics.DEAD_LETTERS.labels(batch.request.channel.value, cause).inc()
        apology = self.deps.settings.backend_failure_reply
        if cause.startswith("backend") and apology:
            try:
                sender = self.deps.sender_for(batch.conversation)
                await sender.send_text(_recipient(batch), apology, None, None)
            except Exception as error:  # best effort: the batch is already kept
                log.warning(
                    "batch %s: apology not delivered: %s", batch.batch_id, error, extra=_ids(batch)
                )
        raise BatchDeadLettered(reason)

    async def _deliver_outbox(self, conversation: str) -> str:
        """Proactive messages wait for the reply in progress, then go out: never interleaved."""
        return str(await deliver_outbox(self.deps, conversation, self.retry_delay))
