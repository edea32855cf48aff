"""The states the batching scripts report, as enums (what a step did, and why not), and
what storing a message returns."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum


class Scheduling(StrEnum):
    """What a stored message (or a queued proactive message) did to the conversation's job."""

    CREATED = "created"
    MOVED = "moved"
    BEHIND_RUNNING = "behind-running"
    """A batch is running: its job's end schedules what waits."""
    BEHIND_BATCH = "behind-batch"
    """A batch is claimed: proactive messages follow its reply."""
    SUPERSEDING = "superseding"
    """The message came before any part of the running batch's answer: that batch is
    abandoned and its messages are pending again, in front of this one."""
    HELD = "held"
    """A human has the conversation: the message is kept for them, not batched."""


class Refusal(StrEnum):
    """Why a message was not stored: the per-person cap it would break."""

    MESSAGE_TOO_LARGE = "message-too-large"
    TOO_MANY_PENDING = "too-many-pending"
    TOO_MANY_PENDING_BYTES = "too-many-pending-bytes"

    @property
    def setting(self) -> str:
        """The setting that sets this cap, for the log line an operator reads."""
        return {
            Refusal.MESSAGE_TOO_LARGE: "MESSAGE_MAX_BYTES",
            Refusal.TOO_MANY_PENDING: "BATCH_MAX_PENDING_MESSAGES",
            Refusal.TOO_MANY_PENDING_BYTES: "BATCH_MAX_PENDING_BYTES",
        }[self]


class ClaimState(StrEnum):
    CLAIMED = "claimed"
    RESUMED = "resumed"
    """A re-run found the batch it claimed before (after a crash or a retry)."""
    EMPTY = "empty"
    NOT_DUE = "not-due"
    """A new message moved the deadline just as the job started."""
    PAUSED = "paused"
    """A human has the conversation; the job runs again when the pause ends."""
    PAUSE_OVER = "pause-over"
    """A pause ended: what was held during it is handed on (to the history) first."""


class AbandonReason(StrEnum):
    """Why a claimed batch is abandoned (nothing of it sent) or halted (nothing more sent).
    The same strings ``append.lua`` and ``take_over.lua`` write (a test holds them equal)."""

    SUPERSEDED = "superseded"
    """The person wrote more before any part of the answer went."""
    HANDED_OVER = "handed_over"
    """A human took the conversation over."""
    STOPPED = "stopped"
    """The person pressed Stop while the answer was being written (Telegram's drafts)."""


class BatchOutcome(StrEnum):
    """What a run of a batch's job came to: ``batchbot_batches_total``'s outcome label,
    the log line and ARQ's result say the same. (A run with no batch to work on counts
    its :class:`ClaimState`.)"""

    ANSWERED = "answered"
    REFUSED = "refused"
    """A part was refused for good by the platform: the batch is a dead letter."""
    HANDED_OVER = "handed_over"
    SUPERSEDED = "superseded"
    DEAD_LETTER = "dead_letter"
    RETRY = "retry"
    CLAIM_LOST = "claim_lost"
    """Another worker took the batch over: this run stopped."""
    NOT_ADDRESSED = "not_addressed"
    """A group batch not meant for the bot."""
    NOT_ANSWERABLE = "not_answerable"
    """Its channel cannot answer now (a business connection disabled)."""
    CAPPED = "capped"
    """Its conversation had ANSWERS_PER_HOUR_MAX answers in the last hour (a bot loop)."""


class Released(IntEnum):
    """What releasing a claimed batch did (falsy when this run no longer held it)."""

    LOST = 0
    DONE = 1
    OUTBOX_WAITING = 2
    """Released, and proactive messages wait for this job to send them."""


class ScheduleState(StrEnum):
    RUNNING = "running"
    QUEUED = "queued"
    RESCHEDULED = "rescheduled"
    """A claimed batch had lost its job; it got a new one."""
    SCHEDULED = "scheduled"
    IDLE = "idle"


@dataclass(frozen=True, slots=True)
class AppendResult:
    duplicate: bool
    pending: int
    deadline_ms: int
    now_ms: int
    scheduling: Scheduling | None
    refused: Refusal | None = None
