"""A person stopping an answer while it is being written (Telegram's Stop button on a
draft, Bot API 10.3): the bot finds the batch the draft belongs to and abandons it, and
the worker answering it cancels its backend call (the signal a supersede uses, heard by
whichever worker holds the batch, on any host)."""

from __future__ import annotations

from enum import StrEnum

from redis.asyncio import Redis

from shared.keys import ConversationKeys
from shared.outside_script_calls import Stop
from shared.redis_scripts import as_text
from shared.replicated import ScriptRunner


def draft_id_of(batch_id: str) -> int:
    """One draft id per batch (changes to a draft animate), non-zero, as the API asks; a
    Stop press names it, which is how the press finds its batch."""
    return int(batch_id[:8], 16) % (2**31 - 1) + 1


class StopResult(StrEnum):
    STOPPED = "stopped"
    SENT = "sent"
    """A part of the answer had gone out: too late, nothing changes."""
    UNKNOWN = "unknown"
    """No batch of this draft is being answered (answered, abandoned, or not ours)."""


class Stops:
    def __init__(self, redis: Redis, scripts: ScriptRunner | None = None) -> None:
        self.redis = redis
        self.scripts = scripts or ScriptRunner(redis)

    async def stop(self, conversation: str, draft_id: int) -> StopResult:
        """Abandon the conversation's batch whose draft is ``draft_id``, if nothing of
        its answer went out yet."""
        inflight = ConversationKeys(conversation).inflight
        batch_id = await self.redis.hget(inflight, "batch_id")  # type: ignore[misc]
        if batch_id is None or draft_id_of(as_text(batch_id)) != draft_id:
            return StopResult.UNKNOWN
        call = Stop(inflight_key=inflight, conversation=conversation, batch_id=as_text(batch_id))
        [result] = await self.scripts.execute(call)
        return StopResult(as_text(result))
