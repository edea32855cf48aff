"""What a run of a batch's job, or one of its steps, came to: an :class:`Outcome`, one
value read for the metric's label, the log line and ARQ's result alike, returned rather
than raised, so :meth:`worker.jobs.BatchRun.process` reads as the protocol does."""

from __future__ import annotations

from dataclasses import dataclass

from shared.states import AbandonReason, BatchOutcome, ClaimState

Label = BatchOutcome | ClaimState | AbandonReason
"""``batchbot_batches_total``'s outcome label: a run with no batch counts its claim state,
an abandoned batch why it was abandoned."""


@dataclass(frozen=True, slots=True)
class Outcome:
    label: Label
    detail: str
    """What happened, for a person reading the log or ARQ's result."""
    then_outbox: bool = True
    """Proactive messages waiting go out after it (not after a lost claim or a retry,
    whose runs do not hold the conversation)."""
    retry_in: float | None = None
    """ARQ runs the job again in so many seconds (RETRY only)."""
    then: str = ""
    """What followed it ("; 1 proactive message(s) sent")."""

    @property
    def line(self) -> str:
        """What a person got comes first: ARQ's log line keeps about 80 characters."""
        return f"{self.label}: {self.detail}{self.then}" if self.detail else self.label + self.then

    @classmethod
    def retry(cls, detail: str, seconds: float) -> Outcome:
        return cls(BatchOutcome.RETRY, detail, then_outbox=False, retry_in=seconds)

    @classmethod
    def claim_lost(cls, detail: str) -> Outcome:
        return cls(BatchOutcome.CLAIM_LOST, detail, then_outbox=False)
