"""Reading a conversation's pending messages as RedisInsight shows them.

For the demo, the benchmarks and the tests, which watch Redis from outside the
product; the product itself never reads its batches this way.
"""

from __future__ import annotations

from redis.asyncio import Redis

from shared.keys import ConversationKeys
from shared.models import IncomingMessage


async def pending_count(redis: Redis, conversation: str) -> int:
    """How many messages of a conversation wait for their batch."""
    count: int = await redis.llen(ConversationKeys(conversation).batch)  # type: ignore[misc]
    return count


async def pending_messages(redis: Redis, conversation: str) -> list[IncomingMessage]:
    """The waiting messages themselves, in message-id order."""
    raw = await redis.lrange(ConversationKeys(conversation).batch, 0, -1)  # type: ignore[misc]
    return [IncomingMessage.model_validate_json(item) for item in raw]
