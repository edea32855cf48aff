"""How many answers a conversation got in the last hour, for ANSWERS_PER_HOUR_MAX: since
Bot API 10.0 bots can write to each other, and two assistants answering each other would
do so forever. Kept as ``answers:<conversation>``, a sorted set of batch ids by the time
each was about to be answered: a retried or resumed batch counts once."""

from __future__ import annotations

from redis.asyncio import Redis

from shared.keys import ConversationKeys

HOUR_MS = 3_600_000


async def answers_in_the_last_hour(
    redis: Redis, conversation: str, batch_id: str, now_ms: int
) -> int:
    """Count this batch (once) and return the conversation's answers in the last hour."""
    key = ConversationKeys(conversation).answers
    async with redis.pipeline(transaction=True) as pipe:
        pipe.zremrangebyscore(key, "-inf", now_ms - HOUR_MS)
        pipe.zadd(key, {batch_id: now_ms}, nx=True)
        pipe.zcard(key)
        pipe.pexpire(key, HOUR_MS)
        replies = await pipe.execute()
    return int(replies[2])
