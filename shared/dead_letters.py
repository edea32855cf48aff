"""Dead letters: batches the backend or the chat platform gave up on, kept with the reason.

For operators (``batchctl``): list them, show one, replay it (its messages go back in
front of the person's pending ones, due at once) or purge it. The worker creates them
when it releases a batch (:meth:`shared.store.BatchStore.release`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from redis.asyncio import Redis

from shared.keys import DEAD_LETTERS_INDEX, PENDING_INDEX, ConversationKeys, dead_letter_key
from shared.models import IncomingMessage, to_json
from shared.outside_script_calls import Replay
from shared.redis_scripts import as_text
from shared.replicated import ScriptRunner
from shared.store import BatchStore


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A batch kept after the backend or the chat platform gave up on it, with the reason."""

    fields: dict[str, str]

    @property
    def batch_id(self) -> str:
        return self.fields["batch_id"]

    @property
    def conversation(self) -> str:
        return self.fields["conversation"]

    @property
    def reason(self) -> str:
        return self.fields.get("reason", "")

    @property
    def tenant(self) -> str | None:
        """The TENANTS_FILE tenant whose batch it was, when the deployment has tenants."""
        return self.fields.get("tenant")

    @property
    def failed_at_ms(self) -> int:
        return int(self.fields.get("failed_at", 0))

    @property
    def messages(self) -> list[IncomingMessage]:
        return [IncomingMessage.model_validate(m) for m in json.loads(self.fields["messages"])]


class DeadLetters:
    """Reading and acting on dead letters; a few round trips each, never on a hot path."""

    def __init__(
        self, redis: Redis, key_ttl_seconds: int, scripts: ScriptRunner | None = None
    ) -> None:
        self.redis = redis
        self.key_ttl_seconds = key_ttl_seconds
        self.scripts = scripts or ScriptRunner(redis)

    async def newest(self, limit: int = 100) -> list[DeadLetter]:
        """The newest dead letters first."""
        raw = await self.redis.zrevrange(DEAD_LETTERS_INDEX, 0, limit - 1)
        letters = [await self.get(as_text(batch_id)) for batch_id in raw]
        return [letter for letter in letters if letter is not None]

    async def get(self, batch_id: str) -> DeadLetter | None:
        raw = await self.redis.hgetall(dead_letter_key(batch_id))  # type: ignore[misc]
        if not raw:
            return None
        return DeadLetter({as_text(k): as_text(v) for k, v in raw.items()})

    async def replay(self, batch_id: str) -> int | None:
        """Queue a dead letter's messages again, due at once; None if there is no such letter."""
        letter = await self.get(batch_id)
        if letter is None:
            return None
        keys = ConversationKeys(letter.conversation)
        call = Replay(
            dead_letter_key=dead_letter_key(batch_id),
            dead_letters_index=DEAD_LETTERS_INDEX,
            batch_key=keys.batch,
            info_key=keys.info,
            pending_index=PENDING_INDEX,
            batch_id=batch_id,
            conversation=letter.conversation,
            key_ttl_s=self.key_ttl_seconds,
            chat=letter.fields["chat"],
            user=letter.fields["user"],
            messages=[to_json(message) for message in letter.messages],
        )
        replayed = int(await self.scripts.execute(call))
        if replayed < 0:
            return None
        store = BatchStore(self.redis, self.key_ttl_seconds, scripts=self.scripts)
        await store.schedule(letter.conversation)
        return replayed

    async def purge(self, batch_id: str) -> bool:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(dead_letter_key(batch_id))
            pipe.zrem(DEAD_LETTERS_INDEX, batch_id)
            deleted, _ = await pipe.execute()
        return bool(deleted)
