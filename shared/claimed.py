"""A batch a worker holds, as read back from ``inflight:<conversation>``."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

from shared.keys import channel_of
from shared.models import BatchRequest, BatchResponse, Chat, IncomingMessage, MessageId, User
from shared.states import AbandonReason, ClaimState


@dataclass(frozen=True, slots=True)
class ClaimedBatch:
    """A batch this worker holds: what to send the backend and how far the reply got."""

    conversation: str
    batch_id: str
    token: str
    """This run's claim token: every write of the run checks it (see ``claim.lua``)."""
    request: BatchRequest
    first_at_ms: int  # when the batch's first message was stored: the start of its wait
    deadline_ms: int
    claimed_at_ms: int
    resumed: bool
    answer: BatchResponse | None
    sent: int
    abandoned: str | None = None
    """Why the batch was abandoned before any part went ('superseded', 'handed_over'): a
    run that finds this releases it without asking or sending."""
    halted: str | None = None
    """Why nothing more of its answer goes out, though some did ('handed_over')."""
    refused: dict[int, str] = field(default_factory=dict)
    """Parts (from 1) the platform refused for good in an earlier run, with its reason
    (``refused:<n>`` fields): a resumed run must not count them as delivered."""
    answers_last_hour: int = 0
    """The conversation's answered batches in the last hour, as the claim counted them."""
    streamed: dict[int, MessageId] = field(default_factory=dict)
    """Messages the answer grew in as it was written, by part (``streamed:<n>`` fields):
    their final text is edited in, not sent again (see ``worker.growing``)."""


class Abandoned(Exception):
    """The batch was superseded or handed over to a human: its answer is never sent."""

    def __init__(self, batch_id: str, why: str) -> None:
        super().__init__(f"batch {batch_id}: {why.replace('_', ' ')}")
        self.why = AbandonReason(why)


@dataclass(frozen=True, slots=True)
class ClaimOutcome:
    """``batch`` is set when there is work; otherwise ``state`` says why not."""

    state: ClaimState
    deadline_ms: int
    now_ms: int
    batch: ClaimedBatch | None
    held: list[str] = field(default_factory=list)
    """PAUSE_OVER: what was held during the pause (message or turn JSON), in order."""


def claimed_batch(conversation: str, fields: dict[str, str], resumed: bool) -> ClaimedBatch:
    """The fields of ``inflight:<conversation>`` as a batch."""
    messages = [IncomingMessage.model_validate(m) for m in json.loads(fields["messages"])]
    request = BatchRequest.build(
        batch_id=fields["batch_id"],
        chat=Chat.model_validate_json(fields["chat"]),
        user=User.model_validate_json(fields["user"]),
        messages=messages,
        channel=channel_of(conversation),
    )
    answer = fields.get("answer")
    return ClaimedBatch(
        conversation=conversation,
        batch_id=fields["batch_id"],
        token=fields["token"],
        request=request,
        first_at_ms=int(fields.get("first_at", fields["claimed_at"])),
        deadline_ms=int(fields["deadline"]),
        claimed_at_ms=int(fields["claimed_at"]),
        resumed=resumed,
        answer=BatchResponse.model_validate_json(answer) if answer else None,
        sent=int(fields["sent"]),
        abandoned=fields.get("abandoned"),
        halted=fields.get("halted"),
        refused={
            int(name.removeprefix(REFUSED_PREFIX)): reason
            for name, reason in fields.items()
            if name.startswith(REFUSED_PREFIX)
        },
        streamed={
            int(name.removeprefix(STREAMED_PREFIX)): message_id
            for name, message_id in fields.items()
            if name.startswith(STREAMED_PREFIX)
        },
    )


REFUSED_PREFIX = "refused:"
"""``inflight:<conversation>`` fields ``refused:<part>``: the platform's reason for a part
it refused (kept in the dead letter, which copies the batch's fields)."""


STREAMED_PREFIX = "streamed:"
"""``inflight:<conversation>`` fields ``streamed:<part>``: the id of the chat message that
part grew in as the answer was written."""


def claim_outcome(conversation: str, reply: list[str]) -> ClaimOutcome:
    """``claim.lua``'s reply: {state, deadline ms, now ms, answers in the last hour, then
    the claimed batch's fields and values, or the items held during a pause that is over}."""
    state, deadline, now = ClaimState(reply[0]), int(reply[1]), int(reply[2])
    if state is ClaimState.PAUSE_OVER:
        return ClaimOutcome(state, deadline, now, None, reply[4:])
    if state not in (ClaimState.CLAIMED, ClaimState.RESUMED):
        return ClaimOutcome(state, deadline, now, None)
    values = reply[4:]
    fields = dict(zip(values[::2], values[1::2], strict=True))
    batch = claimed_batch(conversation, fields, resumed=state is ClaimState.RESUMED)
    batch = dataclasses.replace(batch, answers_last_hour=int(reply[3]))
    return ClaimOutcome(state, deadline, now, batch)


def refused_field(part: int) -> str:
    return f"{REFUSED_PREFIX}{part}"


def streamed_field(part: int) -> str:
    return f"{STREAMED_PREFIX}{part}"
