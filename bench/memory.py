"""Memory: Redis bytes per pending conversation of 5 short messages, and its growth; and
the bytes a conversation's history takes with HISTORY_TURNS=20.

Each conversation holds the burst "hi" · "can I book" · "a haircut" · "tomorrow?" ·
"thanks", pending (its deadline ten minutes away). Bytes come from INFO's
``used_memory`` before and after, on an emptied database, so every key, index entry
and ARQ job counts. Overhead is what is left after the stored message JSON (the
bodies a backend receives). ``MEMORY USAGE`` of one conversation's keys shows where
it goes. Baseline: the replaced design holding the same messages (a JSON list of the
messages as aiogram dumps them, a timestamp key and one ARQ job per message).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from arq.connections import ArqRedis
from redis.asyncio import Redis

from bench.ingest import updates
from shared import arq_layout
from shared.keys import ConversationKeys
from shared.models import Chat, IncomingMessage, MessageKind, Turn, User, to_json
from shared.rules import BatchingRules
from shared.store import BatchStore

BURST = ("hi", "can I book", "a haircut", "tomorrow?", "thanks")
WINDOW_MS = 600_000
CONCURRENCY = 500


@dataclass(frozen=True, slots=True)
class MemoryResult:
    name: str
    conversations: int
    bytes_per_conversation: float
    body_bytes_per_conversation: float
    overhead_per_conversation: float
    used_memory_mb: float


def _messages() -> list[IncomingMessage]:
    at = datetime.now(UTC)
    return [
        IncomingMessage(message_id=n, date=at, kind=MessageKind.TEXT, text=text)
        for n, text in enumerate(BURST, start=1)
    ]


async def _used_memory(redis: Redis) -> int:
    return int((await redis.info("memory"))["used_memory"])


async def _fill_batchbot(redis: Redis, conversations: int) -> int:
    store = BatchStore(redis, 7 * 86400)
    messages = _messages()
    queue = iter(range(conversations))

    async def filler() -> None:
        for n in queue:
            user_id = 1_000_000 + n
            for message in messages:
                await store.append(
                    str(user_id),
                    Chat(id=user_id, type="private"),
                    User(id=user_id, first_name="Ana"),
                    message,
                    BatchingRules(
                        window_ms=WINDOW_MS,
                        max_wait_ms=WINDOW_MS,
                        max_messages=10,
                        max_pending_messages=200,
                        max_pending_bytes=1_000_000,
                        max_message_bytes=65536,
                    ),
                )

    await asyncio.gather(*(filler() for _ in range(CONCURRENCY)))
    return sum(len(to_json(m)) for m in messages)


async def _fill_naive(redis: ArqRedis, conversations: int) -> int:
    """The replaced design's keys, written as its handler wrote them."""
    raw = updates(1, len(BURST))
    dumps = [u["message"] | {"text": text} for u, text in zip(raw, BURST, strict=True)]
    queue = iter(range(conversations))

    async def filler() -> None:
        for n in queue:
            user = 1_000_000 + n
            items: list[dict[str, object]] = []
            for dump in dumps:
                items.append(dump)
                await redis.set(f"naive:batch:{user}", json.dumps(items), ex=3600)
                await redis.set(f"naive:last:{user}", time.time(), ex=3600)
                await redis.enqueue_job("naive_batch", user, _defer_by=WINDOW_MS / 1000)

    await asyncio.gather(*(filler() for _ in range(CONCURRENCY)))
    return len(json.dumps(dumps))


async def measure(url: str, name: str, conversations: int) -> MemoryResult:
    redis = ArqRedis.from_url(url) if name == "naive" else Redis.from_url(url)
    await redis.flushall()
    before = await _used_memory(redis)
    if name == "naive":
        assert isinstance(redis, ArqRedis)
        bodies = await _fill_naive(redis, conversations)
    else:
        bodies = await _fill_batchbot(redis, conversations)
    used = await _used_memory(redis)
    await redis.flushall()
    await redis.aclose()
    per = (used - before) / conversations
    return MemoryResult(
        name=name,
        conversations=conversations,
        bytes_per_conversation=per,
        body_bytes_per_conversation=bodies,
        overhead_per_conversation=per - bodies,
        used_memory_mb=used / 1e6,
    )


async def key_sizes(url: str) -> dict[str, int]:
    """``MEMORY USAGE`` of each key one pending conversation has (index entries excluded)."""
    redis = Redis.from_url(url)
    await redis.flushall()
    await _fill_batchbot(redis, 1)
    keys = ConversationKeys("1000000")
    names = [
        keys.batch,
        keys.info,
        arq_layout.job_key(arq_layout.batch_job_id("1000000")),
    ]
    sizes = {name: int(await redis.memory_usage(name, samples=0) or 0) for name in names}
    await redis.flushall()
    await redis.aclose()
    return sizes


async def run(url: str, sizes: tuple[int, ...] = (1000, 10_000, 100_000)) -> list[MemoryResult]:
    results = [await measure(url, "batchbot", count) for count in sizes]
    results.append(await measure(url, "naive", min(sizes[-1], 10_000)))
    return results


async def history_bytes(url: str, conversations: int = 1000) -> float:
    """Bytes per conversation of the history HISTORY_TURNS=20 keeps: 20 turns of a typical
    exchange (a 60-character question, a 300-character answer), from INFO's used_memory."""
    redis = Redis.from_url(url)
    await redis.flushall()
    before = int((await redis.info("memory"))["used_memory"])
    at = datetime.now(UTC)
    question = Turn(role="user", text="q" * 60, at=at)
    answer = Turn(role="assistant", text="a" * 300, at=at)
    turns = [to_json(question), to_json(answer)] * 10
    async with redis.pipeline(transaction=False) as pipe:
        for n in range(conversations):
            pipe.rpush(ConversationKeys(str(n)).history, *turns)
            pipe.expire(ConversationKeys(str(n)).history, 7 * 86400)
        await pipe.execute()
    after = int((await redis.info("memory"))["used_memory"])
    await redis.flushall()
    await redis.aclose()
    return (after - before) / conversations
