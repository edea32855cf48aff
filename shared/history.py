"""Conversation memory for backends that keep none: the last turns of each conversation.

With HISTORY_TURNS set, each batch's request carries the turns before it (``history``),
and when a batch is answered its user turn (what the person wrote) and assistant turn
(what was actually delivered) are appended in the same atomic call that releases the
batch (``release.lua``), so a retried or resumed batch is remembered once. The list
keeps the last HISTORY_TURNS turns within HISTORY_MAX_BYTES and is forgotten after
HISTORY_TTL_SECONDS without a new batch; ``/clear`` forgets it too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypedDict

from redis.asyncio import Redis

from shared.claimed import ClaimedBatch
from shared.keys import ConversationKeys
from shared.models import BatchRequest, IncomingMessage, MessageKind, Turn, to_json


@dataclass(frozen=True, slots=True)
class HistoryRules:
    turns: int
    """Turns kept and sent; 0: no history."""
    max_bytes: int
    ttl_seconds: int

    def to_keep(self, turns: Sequence[Turn]) -> KeptTurns:
        """What ``release.lua`` and ``hand_on.lua`` need to record ``turns`` (nothing when
        history is off)."""
        if self.turns <= 0:
            return KeptTurns(history_ttl_s=0, turns_kept=0, bytes_kept=0, turns=[])
        return KeptTurns(
            history_ttl_s=self.ttl_seconds,
            turns_kept=self.turns,
            bytes_kept=self.max_bytes,
            turns=[to_json(turn) for turn in turns],
        )


class KeptTurns(TypedDict):
    """The history's fields of a script call (:mod:`shared.script_calls`)."""

    history_ttl_s: int
    turns_kept: int
    bytes_kept: int
    turns: list[str]


NO_HISTORY = HistoryRules(turns=0, max_bytes=0, ttl_seconds=0)


async def with_history(redis: Redis, batch: ClaimedBatch, rules: HistoryRules) -> BatchRequest:
    """The batch's request with the conversation's last turns, oldest first (as it is when
    history is off). A retry reads the same turns: nothing is remembered while a batch of
    the conversation is in flight."""
    if rules.turns <= 0:
        return batch.request
    key = ConversationKeys(batch.conversation).history
    raw = await redis.lrange(key, -rules.turns, -1)  # type: ignore[misc]
    turns = [Turn.model_validate_json(item) for item in raw]
    return batch.request.model_copy(update={"history": turns})


def turns_of(request: BatchRequest, spoken: str) -> list[Turn]:
    """The user turn of a batch and, when something was delivered, the assistant's."""
    turns = [user_turn(request.messages)]
    if spoken:
        turns.append(Turn(role="assistant", text=spoken, at=datetime.now(UTC)))
    return turns


def user_turn(messages: Sequence[IncomingMessage]) -> Turn:
    """Messages as one user turn: their words, and a mark for each message without any
    ("[photo]"), dated by the last."""
    words = "\n".join(w for w in (m.words() for m in messages) if w)
    marks = " ".join(f"[{m.kind.value}]" for m in messages if m.kind is not MessageKind.TEXT)
    return Turn(role="user", text="\n".join(p for p in (words, marks) if p), at=messages[-1].date)
