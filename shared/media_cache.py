"""Photos fetched while the person is still writing, for a model that sees images
(BACKEND_VISION): kept in Redis for a while, within a total cap, so the backend call does
not wait on downloads. A photo not found here is fetched when its batch goes."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from shared.keys import MEDIA_CACHE, MEDIA_CACHE_PREFIX
from shared.models import MessageId
from shared.replicated import ScriptRunner
from shared.script_call import ScriptCall, arg, key

CACHE_TTL_MS = 600_000
"""Long enough for any batch to go (a window, the max wait) and be retried once."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheMedia(ScriptCall):
    script = "cache_media"
    cache_index: str = key()
    cache_key: str = key()
    content: bytes = arg()
    ttl_ms: int = arg()
    cap: int = arg()


def cache_key(conversation: str, message_id: MessageId) -> str:
    return f"{MEDIA_CACHE_PREFIX}{conversation}:{message_id}"


class MediaCache:
    def __init__(self, redis: Redis, scripts: ScriptRunner, cap_bytes: int) -> None:
        self.redis, self.scripts, self.cap_bytes = redis, scripts, cap_bytes

    async def keep(self, conversation: str, message_id: MessageId, content: bytes) -> bool:
        """False when the cache is full: the photo is fetched when its batch goes."""
        call = CacheMedia(
            cache_index=MEDIA_CACHE,
            cache_key=cache_key(conversation, message_id),
            content=content,
            ttl_ms=CACHE_TTL_MS,
            cap=self.cap_bytes,
        )
        return bool(await self.scripts.execute(call))

    async def get(self, conversation: str, message_id: MessageId) -> bytes | None:
        content: bytes | None = await self.redis.get(cache_key(conversation, message_id))
        return content
