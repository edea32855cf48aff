"""The batch protocol, step by step (:class:`BatchRun`; ARQ runs it as
``process_message_batch``, :mod:`worker.arq_seams`).

Claim the due messages as one batch with a stable id; ask the backend unless the answer
is stored, and store it before sending; deliver the parts not sent yet, marking each
(:mod:`worker.delivery`); release the batch (or keep it as a dead letter), then send
proactive messages; when the job ends, :mod:`worker.job_end` schedules what came
meanwhile. Any step may be repeated after a crash; none repeats a backend call or a sent
part; a failure that may pass is retried within a budget, then is a dead letter. Each
step returns an :class:`worker.outcome.Outcome` rather than raising it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import time
from dataclasses import dataclass, field

from backend_client import PermanentBackendError, RetryableBackendError
from channels.base import ChannelSender
from channels.outcomes import RetryAfter, Unavailable
from shared import metrics
from shared.claimed import Abandoned
from shared.history import with_history
from shared.keys import channel_of
from shared.models import BatchResponse
from shared.redaction import redacted_answer
from shared.states import AbandonReason, BatchOutcome, Released
from shared.stops import draft_id_of
from shared.store import ClaimedBatch
from worker.abandons import until_abandoned
from worker.answered import Answered, what_arrived
from worker.dead_lettering import (
    claim_lost,
    dead_letter,
    log_fields,
    name_its_tenant,
    recipient,
)
from worker.delivery import ClaimLost, Delivered, Grown, deliver
from worker.growing import Growth
from worker.leasing import lease_kept
from worker.lifecycle import ChannelNotConfigured, WorkerDeps
from worker.outbox import deliver_outbox
from worker.outcome import Label, Outcome
from worker.policy import answerable, backoff_seconds
from worker.progress import progress_shown
from worker.reply_parts import ReplyPart, batch_reply_target, reply_parts
from worker.stopped import Written, stopped
from worker.takeover import claim_after_pause, hand_over
from worker.transcribing import image_fetcher, late_transcripts_said

log = logging.getLogger("batchbot.worker")


def _count(conversation: str, label: Label, tenant: str | None) -> None:
    metrics.BATCHES.labels(channel_of(conversation).value, label).inc()
    if tenant is not None:
        metrics.TENANT_BATCHES.labels(tenant, label).inc()


@dataclass(frozen=True, slots=True)
class BatchRun:
    """One run of a conversation's job: its ``job_try`` sets the back-off of any retry."""

    deps: WorkerDeps
    job_try: int
    written: Written = field(default_factory=Written)
    """The answer as streamed so far, for a Stop that keeps it."""

    async def process(self, conversation: str) -> Outcome:
        """The run's outcome, counted, with the proactive messages sent after it (where
        it allows) said in its detail."""
        outcome = await self._run(conversation)
        _count(conversation, outcome.label, self.deps.tenant)
        if not outcome.then_outbox:
            return outcome
        return dataclasses.replace(outcome, then=await self._deliver_outbox(conversation))

    async def _run(self, conversation: str) -> Outcome:
        settings, store = self.deps.settings, self.deps.store
        claimed = await claim_after_pause(self.deps, conversation)
        batch = claimed.batch
        if batch is None:
            return Outcome(claimed.state, "")  # nothing due: the claim's state says it all
        if batch.resumed:
            said = f"resumed: run {self.job_try}, {batch.sent} part(s) sent before"
        else:
            late = claimed.now_ms - batch.deadline_ms
            said = (
                f"claimed: {len(batch.request.messages)} message(s), {late} ms after its deadline"
            )
        log.info("batch %s of %s %s", batch.batch_id, conversation, said, extra=log_fields(batch))
        if batch.abandoned is not None:
            return await self._drop(batch, Abandoned(batch.batch_id, batch.abandoned))
        adapter = self.deps.adapters.get(batch.request.channel)
        batch, unanswered = await answerable(settings, store.redis, batch, adapter)
        if unanswered is not None:
            await store.release(batch)
            log.info(
                "batch %s: %s; not answered",
                batch.batch_id,
                unanswered.reason,
                extra=log_fields(batch),
            )
            return Outcome(unanswered.outcome, f"batch {batch.batch_id}: {unanswered.reason}")
        try:
            with self.deps.abandons.watching(conversation) as abandoned:
                kept = lease_kept(self.deps.leases, batch, settings.lease_ms, abandoned.set)
                async with kept:
                    answered = await self._answer(batch, abandoned)
                    if isinstance(answered, Outcome) and answered.retry_in is not None:
                        with contextlib.suppress(Exception):  # else the lease lapses
                            await self.deps.leases.end(batch, round(answered.retry_in * 1000))
            if isinstance(answered, Outcome):
                return answered
            released = await store.release(
                batch,
                dead_letter_reason=answered.refusal,
                remember=answered.turns(batch.request),
                history=self.deps.history,
            )
        except Abandoned as dropped:
            return await self._drop(batch, dropped)
        if not released:
            return claim_lost(batch, "taken over before its release")
        return await self._answered(batch, answered, released)

    async def _answered(
        self, batch: ClaimedBatch, answered: Answered, released: Released
    ) -> Outcome:
        """An answered batch (or one kept because parts were refused), summarised."""
        line = answered.result_line(batch.batch_id, len(batch.request.messages))
        # Proactive messages queued after this release get a job of their own at its end.
        waiting = released is Released.OUTBOX_WAITING
        if answered.refusal:
            await name_its_tenant(self.deps, batch)
            metrics.DEAD_LETTERS.labels(batch.request.channel.value, "refused").inc()
            log.error(
                "batch %s of %s dead-lettered: %s", batch.batch_id, batch.conversation,
                answered.refusal, extra=log_fields(batch),
            )  # fmt: skip
            return Outcome(BatchOutcome.REFUSED, line, then_outbox=waiting)
        done = BatchOutcome.ANSWERED if answered.halted is None else BatchOutcome.HANDED_OVER
        return Outcome(done, line, then_outbox=waiting)

    async def _drop(self, batch: ClaimedBatch, abandoned: Abandoned) -> Outcome:
        """Release an abandoned batch unanswered: its messages were put back in front of
        the newer ones (superseded), held for the human (handed over), or the person
        stopped its answer (what was written may stay: :meth:`_stopped`)."""
        if abandoned.why == AbandonReason.STOPPED:
            return await stopped(self.deps, batch, self.written)
        with contextlib.suppress(Abandoned):
            await self.deps.store.release(batch)
        log.info("%s; its answer is never sent", abandoned, extra=log_fields(batch))
        return Outcome(abandoned.why, f"{abandoned}; not answered")

    async def _answer(self, batch: ClaimedBatch, abandoned: asyncio.Event) -> Answered | Outcome:
        """The backend's answer (asked once, stored before anything is sent, never once the
        batch is abandoned), delivered, and what reached the person; a person who cannot
        be reached makes the batch a dead letter at once."""
        try:
            sender = self.deps.sender_for(batch.conversation)
        except ChannelNotConfigured as error:
            return await dead_letter(self.deps, batch, str(error), "channel_not_configured")
        answer = batch.answer
        if answer is None:
            redis = self.deps.store.redis
            asked = await until_abandoned(self._ask_backend(batch, sender), abandoned, redis, batch)
            if isinstance(asked, Outcome):
                return asked
            answer = redacted_answer(asked, self.deps.redact)
            if not await self.deps.store.save_answer(batch, answer):
                return claim_lost(batch, "taken over while the backend answered")
        parts = reply_parts(answer, batch_reply_target(batch.request), sender.limits)
        delivered = await self._send_reply(batch, parts, sender)
        if isinstance(delivered, Outcome):
            return delivered
        if delivered.undeliverable is not None:
            reason = (
                f"not delivered after {delivered.parts_done} part(s): {delivered.undeliverable}"
            )
            return await dead_letter(self.deps, batch, reason, "undeliverable")
        if answer.handoff and delivered.halted is None:
            delivered = await hand_over(self.deps, batch, delivered)
        return what_arrived(parts, delivered, batch.refused, sender.channel.value)

    @property
    def retry_delay(self) -> float:
        return backoff_seconds(self.deps.settings, self.job_try)

    async def _ask_backend(
        self, batch: ClaimedBatch, sender: ChannelSender
    ) -> BatchResponse | Outcome:
        """The backend's answer; a retry while it may work later, a dead letter when not."""
        if self.job_try == 1:
            metrics.BATCH_MESSAGES.observe(len(batch.request.messages))
            metrics.BATCH_WAIT_SECONDS.observe(max(0.0, time.time() - batch.first_at_ms / 1000))
        started = time.monotonic()
        result = "ok"
        to, draft_id = recipient(batch), draft_id_of(batch.batch_id)
        # A retried or resumed run does not replay its draft from the start, as if new:
        # the person already saw the answer begin once; "typing…" shows instead.
        first_run = self.job_try == 1 and not batch.resumed
        per_second = self.deps.settings.draft_updates_per_second if first_run else 0.0
        request = await with_history(self.deps.store.redis, batch, self.deps.history)
        request = late_transcripts_said(request, self.deps.settings)
        try:
            vision = self.deps.settings.backend_vision
            cache = self.deps.media_cache
            fetch = image_fetcher(cache, batch.conversation, sender) if vision else None
            settings = self.deps.settings
            thinking, reasoning = settings.draft_thinking, settings.draft_reasoning
            growth = self._growth(batch, sender)
            async with progress_shown(
                sender, to, draft_id, per_second, thinking, reasoning, growth
            ) as shown:
                on_text = self.written.kept(shown.text)
                return await self.deps.backend.answer(request, on_text, fetch, shown.reasoning)
        except RetryableBackendError as error:
            result = "retryable"
            spent = f"retry budget spent: {error}"
            return await self._retry_or_dead_letter(
                batch, error, self.retry_delay, "backend_gave_up", spent
            )
        except PermanentBackendError as error:
            result = "permanent"
            return await dead_letter(self.deps, batch, str(error), "backend_rejected")
        finally:
            metrics.BACKEND_SECONDS.labels(result).observe(time.monotonic() - started)

    def _growth(self, batch: ClaimedBatch, sender: ChannelSender) -> Growth:
        """Where the chat has no drafts: how the answer grows in messages as it is written."""
        begin = functools.partial(self.deps.leases.begin_part, batch)
        record = functools.partial(self.deps.store.record_streamed, batch)
        target = batch_reply_target(batch.request)
        return Growth(begin, record, target, sender.limits, self.written.grown)

    async def _send_reply(
        self, batch: ClaimedBatch, parts: list[ReplyPart], sender: ChannelSender
    ) -> Delivered | Outcome:
        """Deliver the parts not sent yet; a retry or a dead letter when the chat fails."""
        edits = sender.edits_for(recipient(batch))
        grown_ids = {**batch.streamed, **self.written.grown}
        grown = Grown(edits, grown_ids) if edits is not None and grown_ids else None
        try:
            return await deliver(
                sender,
                recipient(batch),
                parts,
                batch.sent,
                functools.partial(self.deps.store.mark_sent, batch),
                self.deps.pacing,
                what=f"batch {batch.batch_id}",
                log_fields=log_fields(batch),
                may_go=functools.partial(self.deps.leases.begin_part, batch),
                mark_refused=functools.partial(self.deps.store.mark_refused, batch),
                grown=grown,
            )
        except ClaimLost as lost:
            return claim_lost(batch, str(lost))
        except RetryAfter as error:
            return await self._retry_or_dead_letter(batch, error, error.seconds, "unavailable")
        except Unavailable as error:
            return await self._retry_or_dead_letter(batch, error, self.retry_delay, "unavailable")

    async def _retry_or_dead_letter(
        self,
        batch: ClaimedBatch,
        error: Exception,
        delay: float,
        cause: str,
        reason: str | None = None,
    ) -> Outcome:
        """A retry in ``delay`` while the batch may still wait that long; then a dead letter."""
        spent = time.time() - batch.claimed_at_ms / 1000
        if spent + delay > self.deps.settings.backend_retry_budget_seconds:
            return await dead_letter(self.deps, batch, reason or str(error), cause)
        log.warning(
            "batch %s: %s; retrying in %.1fs", batch.batch_id, error, delay, extra=log_fields(batch)
        )
        return Outcome.retry(f"batch {batch.batch_id}: {error}", delay)

    async def _deliver_outbox(self, conversation: str) -> str:
        """Proactive messages wait for the reply in progress, then go out: never interleaved."""
        return str(await deliver_outbox(self.deps, conversation, self.retry_delay))
