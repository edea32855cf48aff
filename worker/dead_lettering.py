"""A batch kept as a dead letter, or given up by a run that lost it; and how a batch is
named in log lines and addressed in its chat."""

from __future__ import annotations

import logging

from channels.base import Recipient
from shared import metrics
from shared.claimed import ClaimedBatch
from shared.keys import dead_letter_key
from shared.states import BatchOutcome
from worker.lifecycle import WorkerDeps
from worker.outcome import Outcome

log = logging.getLogger("batchbot.worker")


def log_fields(batch: ClaimedBatch) -> dict[str, str]:
    """Log fields that let a reader follow one batch and one person."""
    channel = batch.request.channel.value
    return {"conversation": batch.conversation, "batch_id": batch.batch_id, "channel": channel}


def recipient(batch: ClaimedBatch) -> Recipient:
    return Recipient(batch.conversation, batch.request.messages[-1].message_id)


def claim_lost(batch: ClaimedBatch, how: str) -> Outcome:
    lost = f"batch {batch.batch_id}: {how}"
    log.warning("%s; this run stops", lost, extra=log_fields(batch))
    return Outcome.claim_lost(lost)


async def name_its_tenant(deps: WorkerDeps, batch: ClaimedBatch) -> None:
    """A dead letter says whose it was (TENANTS_FILE): a tenant removed since still shows."""
    if deps.tenant is not None:
        await deps.store.redis.hset(dead_letter_key(batch.batch_id), "tenant", deps.tenant)  # type: ignore[misc]


async def dead_letter(deps: WorkerDeps, batch: ClaimedBatch, reason: str, cause: str) -> Outcome:
    """Keep the batch, with why, for a person to replay.

    When the backend failed, the person hears BACKEND_FAILURE_REPLY; when the chat
    did, an apology would fail the same way.
    """
    log.error("batch %s of %s dead-lettered: %s", batch.batch_id, batch.conversation, reason,
              extra=log_fields(batch))  # fmt: skip
    if not await deps.store.release(batch, dead_letter_reason=reason):
        return claim_lost(batch, "taken over before its dead letter")
    await name_its_tenant(deps, batch)
    metrics.DEAD_LETTERS.labels(batch.request.channel.value, cause).inc()
    apology = deps.settings.backend_failure_reply
    if cause.startswith("backend") and apology:
        try:
            sender = deps.sender_for(batch.conversation)
            await sender.send_text(recipient(batch), apology, None, None)
        except Exception as error:  # best effort: the batch is already kept
            log.warning("batch %s: apology not delivered: %s", batch.batch_id, error,
                        extra=log_fields(batch))  # fmt: skip
    return Outcome(BatchOutcome.DEAD_LETTER, f"batch {batch.batch_id} dead-lettered: {reason}")
