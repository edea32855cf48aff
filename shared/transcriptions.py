"""Voice notes waiting to be transcribed, as Redis holds them: a queue any worker leases
items from (``take_media.lua``), and the transcript written onto the message
where it waits (``transcript.lua``). The bot queues an item in the same script that stores
its message (``append.lua``), so a stored voice note is never left untranscribed."""

from __future__ import annotations

import json
from dataclasses import dataclass

from redis.asyncio import Redis

from shared.keys import MEDIA_QUEUE, PENDING_INDEX, ConversationKeys
from shared.models import IncomingMessage
from shared.redis_scripts import as_text
from shared.replicated import ScriptRunner
from shared.script_call import JobScriptCall, ScriptCall, arg, key


@dataclass(frozen=True, slots=True, kw_only=True)
class TakeMedia(ScriptCall):
    script = "take_media"
    media_queue: str = key()
    lease_ms: int = arg()
    most: int = arg()


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreTranscript(JobScriptCall):
    script = "transcript"
    media_item_key: str = key()
    media_queue: str = key()
    batch_key: str = key()
    info_key: str = key()
    inflight_key: str = key()
    held_key: str = key()
    transcribing_key: str = key()
    pending_index: str = key()
    message_id: str = arg()
    field: str = arg()
    value: str = arg()
    """The transcript (or the reason there is none) as a JSON string."""
    duration: int = arg()


@dataclass(frozen=True, slots=True)
class Transcription:
    """A voice note a worker holds the lease of."""

    key: str
    conversation: str
    message: IncomingMessage
    attempts: int
    """Tries so far, this one included."""


class Transcriptions:
    def __init__(self, redis: Redis, scripts: ScriptRunner, key_ttl_seconds: int) -> None:
        self.redis, self.scripts = redis, scripts
        self.key_ttl_seconds = key_ttl_seconds

    async def take(self, lease_ms: int, most: int) -> list[Transcription]:
        """Up to ``most`` voice notes due, leased to this worker for ``lease_ms``."""
        call = TakeMedia(media_queue=MEDIA_QUEUE, lease_ms=lease_ms, most=most)
        taken = []
        for item in [as_text(k) for k in await self.scripts.execute(call)]:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hgetall(item)
                pipe.hincrby(item, "attempts", 1)
                fields, attempts = await pipe.execute()
            found = {as_text(k): as_text(v) for k, v in fields.items()}
            if "message" not in found:  # its key expired: nothing to transcribe
                await self.redis.zrem(MEDIA_QUEUE, item)
                continue
            message = IncomingMessage.model_validate_json(found["message"])
            taken.append(Transcription(item, found["conversation"], message, int(attempts)))
        return taken

    async def renew(self, items: list[Transcription], lease_ms: int) -> None:
        """Keep the lease of what this worker still works on (never re-adds a done one)."""
        if items:
            now_ms = await self._now_ms()
            await self.redis.zadd(MEDIA_QUEUE, {i.key: now_ms + lease_ms for i in items}, xx=True)

    async def done(self, item: Transcription) -> None:
        """An item needing no transcript written (a photo fetched ahead, or not)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(MEDIA_QUEUE, item.key)
            pipe.delete(item.key)
            await pipe.execute()

    async def later(self, item: Transcription, delay_ms: int) -> None:
        """Try again in ``delay_ms``, by whichever worker is free then."""
        now_ms = await self._now_ms()
        await self.redis.zadd(MEDIA_QUEUE, {item.key: now_ms + delay_ms}, xx=True)

    async def store(
        self, item: Transcription, transcript: str | None, error: str | None, duration: int
    ) -> str:
        """Write the transcript (or ``error``, why there is none) onto its message; what
        became of it: 'written', 'held', 'gone' or 'done' (see ``transcript.lua``)."""
        keys = ConversationKeys(item.conversation)
        field, value = ("transcript", transcript) if error is None else ("transcript_error", error)
        call = StoreTranscript(
            conversation=item.conversation,
            key_ttl_seconds=self.key_ttl_seconds,
            media_item_key=item.key,
            media_queue=MEDIA_QUEUE,
            batch_key=keys.batch,
            info_key=keys.info,
            inflight_key=keys.inflight,
            held_key=keys.held,
            transcribing_key=keys.transcribing,
            pending_index=PENDING_INDEX,
            message_id=str(item.message.message_id),
            field=field,
            value=json.dumps(value or "", ensure_ascii=False),
            duration=duration,
        )
        return as_text(await self.scripts.execute(call))

    async def _now_ms(self) -> int:
        seconds, micros = await self.redis.time()
        return int(seconds) * 1000 + int(micros) // 1000
