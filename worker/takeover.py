"""The worker's side of a human takeover (:mod:`shared.handoff`): handing on what was
held once a pause is over, and a backend's ``"handoff": true``."""

from __future__ import annotations

import dataclasses
import logging

from shared.claimed import ClaimedBatch, ClaimOutcome
from shared.handoff import takeover_is_off
from shared.states import AbandonReason, ClaimState
from worker.delivery import Delivered
from worker.lifecycle import WorkerDeps

log = logging.getLogger("batchbot.worker")


async def claim_after_pause(deps: WorkerDeps, conversation: str) -> ClaimOutcome:
    """The due batch, if any. A pause that has ended first hands on what was held during
    it (to the history: the human dealt with it), then the claim is made again."""
    settings = deps.settings
    for _ in range(2):
        outcome = await deps.store.claim(
            conversation,
            max_messages=settings.batch_max_messages,
            recheck_after_ms=round(settings.recovery_seconds * 1000),
            lease_ms=settings.lease_ms,
        )
        if outcome.state is not ClaimState.PAUSE_OVER:
            break
        handed = await deps.handoffs.hand_on(conversation, outcome.held, deps.history)
        log.info(
            "conversation %s: its pause is over; %d item(s) written during it %s",
            conversation,
            len(outcome.held),
            "handed on to the history" if handed else "wait: a new pause began",
            extra={"conversation": conversation},
        )
    return outcome


async def hand_over(deps: WorkerDeps, batch: ClaimedBatch, delivered: Delivered) -> Delivered:
    """The backend asked for a human (``"handoff": true``) and its messages were sent: the
    conversation pauses, unless HANDOFF_SECONDS=0 turned takeover off."""
    seconds = deps.settings.handoff_seconds
    if takeover_is_off(seconds):
        log.info(
            "batch %s: the backend asked for a human; takeover is off (HANDOFF_SECONDS=0)",
            batch.batch_id,
            extra={"conversation": batch.conversation},
        )
        return delivered
    await deps.handoffs.take_over(batch.conversation, "backend", seconds)
    return dataclasses.replace(delivered, halted=AbandonReason.HANDED_OVER)
