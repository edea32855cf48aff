"""Proactive messages waiting for delivery: what the backend sends without being asked.

They wait in ``outbox:<conversation>`` and go out from the conversation's own job, after
any reply in progress, so they are never interleaved with an answer's parts; while a
human has the conversation (:mod:`shared.handoff`) they wait for the pause to end. How many
parts of the first message went out is kept beside it (``outbox-sent:<conversation>``),
so a re-run after a crash continues where it stopped.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from shared.keys import PENDING_INDEX, UNDELIVERED, UNDELIVERED_KEPT, ConversationKeys
from shared.models import OutgoingMessage, to_json
from shared.outside_script_calls import Proactive
from shared.redis_scripts import as_text
from shared.replicated import ScriptRunner
from shared.states import Scheduling


@dataclass(frozen=True, slots=True)
class Queued:
    """How queued proactive messages were scheduled."""

    scheduling: Scheduling
    waiting: int
    """Proactive messages now waiting for this conversation, these included."""
    paused_until_ms: int | None
    """Set when a human has the conversation: nothing goes out before the pause ends
    (later, if the human writes again and the pause is extended)."""

    def __str__(self) -> str:
        return str(self.scheduling)


class Outbox:
    """Queue proactive messages (bot, backend tools) and take them out (worker)."""

    def __init__(
        self, redis: Redis, key_ttl_seconds: int, scripts: ScriptRunner | None = None
    ) -> None:
        self.redis = redis
        self.key_ttl_seconds = key_ttl_seconds
        self.scripts = scripts or ScriptRunner(redis)

    async def queue(self, conversation: str, messages: list[OutgoingMessage]) -> Queued:
        """Queue messages for the conversation's job to send; one script call. While a
        human has the conversation they are held until the pause ends."""
        keys = ConversationKeys(conversation)
        raw = await self.scripts.execute(
            Proactive(
                conversation=conversation,
                key_ttl_seconds=self.key_ttl_seconds,
                outbox_key=keys.outbox,
                inflight_key=keys.inflight,
                pending_index=PENDING_INDEX,
                handoff_key=keys.handoff,
                messages=[to_json(message) for message in messages],
            )
        )
        paused_until = int(raw[2])
        return Queued(Scheduling(as_text(raw[0])), int(raw[1]), paused_until or None)

    async def waiting(self, conversation: str) -> int:
        """Proactive messages waiting for this conversation."""
        return int(await self.redis.llen(ConversationKeys(conversation).outbox))  # type: ignore[misc]

    async def head(self, conversation: str) -> tuple[OutgoingMessage, int] | None:
        """The next proactive message and how many of its parts were sent already."""
        keys = ConversationKeys(conversation)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.lindex(keys.outbox, 0)
            pipe.get(keys.outbox_progress)
            head, progress = await pipe.execute()
        if head is None:
            return None
        return OutgoingMessage.model_validate_json(head), int(progress or 0)

    async def mark_sent(self, conversation: str, parts_sent: int, done: bool) -> None:
        """Record delivered parts; when the message is done, drop it from the outbox.
        One MULTI/EXEC transaction."""
        keys = ConversationKeys(conversation)
        async with self.redis.pipeline(transaction=True) as pipe:
            if done:
                pipe.lpop(keys.outbox)
                pipe.delete(keys.outbox_progress)
            else:
                pipe.set(keys.outbox_progress, parts_sent, ex=self.key_ttl_seconds)
            await pipe.execute()

    async def drop_undelivered(
        self, conversation: str, message: OutgoingMessage, parts_sent: int, reason: str
    ) -> None:
        """Take a message that cannot be delivered out of the outbox and keep it, with why,
        among the undelivered ones; one MULTI/EXEC transaction."""
        keys = ConversationKeys(conversation)
        record = {
            "conversation": conversation,
            "failed_at": int(time.time() * 1000),
            "reason": reason,
            "parts_sent": parts_sent,
            "message": message.model_dump(mode="json", exclude_none=True),
        }
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lpop(keys.outbox)
            pipe.delete(keys.outbox_progress)
            pipe.lpush(UNDELIVERED, json.dumps(record, ensure_ascii=False))
            pipe.ltrim(UNDELIVERED, 0, UNDELIVERED_KEPT - 1)
            await pipe.execute()


async def undelivered(redis: Redis, limit: int = 100) -> list[dict[str, Any]]:
    """The newest proactive messages that could not be delivered, with the reason."""
    raw = await redis.lrange(UNDELIVERED, 0, limit - 1)  # type: ignore[misc]
    return [json.loads(entry) for entry in raw]
