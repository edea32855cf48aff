"""What the web sandbox's timeline shows of a voice note: "transcribing…" while a worker
hears it, then its words (or why there are none), read from Redis as batchbot keeps them
(``transcribing:<conversation>``, then the message where it waits or went)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from shared.keys import ConversationKeys
from shared.redis_scripts import as_text


@dataclass
class HeardNotes:
    """The voice notes sent from the page, until their words are known."""

    expected: dict[str, tuple[int, str]] = field(default_factory=dict)
    """Message id → (person, conversation)."""
    shown_transcribing: set[str] = field(default_factory=set)

    def expect(self, person: int, conversation: str, message_id: str) -> None:
        self.expected[message_id] = (person, conversation)

    async def read(self, redis: Redis) -> list[tuple[int, str, dict[str, Any]]]:
        """(person, kind, data) of what changed: 'transcribing' or 'transcript'."""
        if not self.expected:
            return []
        notes = list(self.expected.items())
        async with redis.pipeline(transaction=False) as pipe:
            for message_id, (_, conversation) in notes:
                keys = ConversationKeys(conversation)
                pipe.zscore(keys.transcribing, message_id)
                pipe.lrange(keys.batch, 0, -1)
                pipe.hget(keys.inflight, "messages")
            replies = await pipe.execute()
        changes = []
        for index, (message_id, (person, _)) in enumerate(notes):
            waiting, pending, claimed = replies[index * 3 : index * 3 + 3]
            found = _message(message_id, pending, claimed)
            if found is not None and ("transcript" in found or "transcript_error" in found):
                del self.expected[message_id]
                data: dict[str, Any] = {"message_id": message_id}
                data.update({k: found[k] for k in ("transcript", "transcript_error") if k in found})
                changes.append((person, "transcript", data))
            elif waiting is not None and message_id not in self.shown_transcribing:
                self.shown_transcribing.add(message_id)
                changes.append((person, "transcribing", {"message_id": message_id}))
        return changes


def _message(message_id: str, pending: list[Any], claimed: Any) -> dict[str, Any] | None:
    items = [json.loads(as_text(item)) for item in pending]
    if claimed is not None:
        items += json.loads(as_text(claimed))
    return next((m for m in items if str(m.get("message_id")) == message_id), None)
