"""What reached the person of a batch's answer: the parts that arrived (refused ones are
not counted), the words that are its history, why parts were refused, and the job's
result line that says so truthfully."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shared.history import turns_of
from shared.models import BatchRequest, Turn
from worker.delivery import Delivered, refusal_reason
from worker.reply_parts import ReplyPart


@dataclass(frozen=True, slots=True)
class Answered:
    """How a batch's answer went out, for its result line and outcome."""

    halted: str | None
    """Why the rest was not sent (a human took over), if it was not."""
    sent: int
    """Parts that reached the person (refused ones are not counted)."""
    total: int
    spoken: str
    """What the person got, the assistant's turn in the history ('' for nothing)."""
    refusal: str
    """Why parts were refused for good ('' for none): the dead letter's reason."""

    def turns(self, request: BatchRequest) -> list[Turn]:
        """What was delivered is the history, also when a refused part makes the batch a
        dead letter; a batch of which nothing arrived leaves no turn (a replay asks again
        with the history as it was)."""
        return turns_of(request, self.spoken) if self.spoken or not self.refusal else []

    def result_line(self, batch_id: str, messages: int) -> str:
        """What a person got comes first: ARQ's log line keeps about 80 characters."""
        said = f"batch {batch_id}: {self.sent} of {self.total} parts sent"
        if self.refusal:
            said += f", {self.refusal.count('refused by')} refused (dead letter: {self.refusal})"
        return f"{said}; {messages} messages"


def what_arrived(
    parts: Sequence[ReplyPart],
    delivered: Delivered,
    refused_before: dict[int, str],
    channel: str,
) -> Answered:
    """The parts sent, less those refused in this run or an earlier one of the batch."""
    refused = {**refused_before, **delivered.refused}
    arrived = [
        part for number, part in enumerate(parts[: delivered.parts_done], 1)
        if number not in refused
    ]  # fmt: skip
    return Answered(
        halted=delivered.halted,
        sent=len(arrived),
        total=len(parts),
        spoken="\n".join(part.text for part in arrived if part.text),
        refusal=refusal_reason(refused, len(parts), channel),
    )
