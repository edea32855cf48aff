"""The operations console's cost to Redis: commands and milliseconds per refresh (the page
refreshes once a second) with 100 and with 100,000 pending conversations, in one run.

Conversations are written in the layout the bot's append script leaves (``batch:``,
``batch-info:``, the pending index), one message each, plus 50 dead letters. Commands
are counted by Redis itself (INFO's ``total_commands_processed``, less the INFO call).
Baseline in the same run: ``batchctl inspect``'s overview, which counts batches in
flight by SCAN over the keyspace, as the console must not.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

from redis.asyncio import Redis

from batchctl.console_state import console_state
from batchctl.inspect import overview
from shared.keys import DEAD_LETTERS_INDEX, PENDING_INDEX, ConversationKeys, dead_letter_key

REFRESHES = 20
CHUNK = 5000
MESSAGE = '{"message_id":1,"date":1795900000,"kind":"text","text":"can I book a haircut"}'


@dataclass(frozen=True, slots=True)
class ConsoleResult:
    pending: int
    what: str
    commands_per_refresh: float
    ms_per_refresh_p50: float
    ms_per_refresh_max: float


async def _fill(redis: Redis, conversations: int) -> None:
    await redis.flushall()
    now_ms = int(time.time() * 1000)
    for start in range(0, conversations, CHUNK):
        async with redis.pipeline(transaction=False) as pipe:
            for n in range(start, min(start + CHUNK, conversations)):
                keys = ConversationKeys(str(100_000_000 + n))
                deadline = now_ms + 600_000 + n
                pipe.rpush(keys.batch, MESSAGE)
                pipe.hset(keys.info, mapping={"first_at": now_ms, "deadline": deadline})
                pipe.zadd(PENDING_INDEX, {keys.conversation: deadline})
            await pipe.execute()
    async with redis.pipeline(transaction=False) as pipe:
        for n in range(50):
            batch_id = f"dead-{n:04d}"
            fields = {"batch_id": batch_id, "conversation": str(n), "reason": "backend 500"}
            pipe.hset(dead_letter_key(batch_id), mapping={**fields, "messages": f"[{MESSAGE}]"})
            pipe.zadd(DEAD_LETTERS_INDEX, {batch_id: now_ms - n})
        await pipe.execute()


async def _commands(redis: Redis) -> int:
    return int((await redis.info("stats"))["total_commands_processed"])


async def _measure(redis: Redis, pending: int, what: str, refreshes: int) -> ConsoleResult:
    timings, commands = [], 0
    for _ in range(refreshes):
        before = await _commands(redis)
        started = time.perf_counter()
        if what == "console":
            state = await console_state(redis)
            assert state["totals"]["pending_conversations"] == pending
        else:
            view = await overview(redis, 50)
            assert view.conversations == pending
        timings.append((time.perf_counter() - started) * 1000)
        commands += await _commands(redis) - before - 1  # the INFO that read the count
    return ConsoleResult(
        pending,
        what,
        commands / refreshes,
        statistics.median(timings),
        max(timings),
    )


async def run(url: str, sizes: tuple[int, ...] = (100, 100_000)) -> list[ConsoleResult]:
    redis = Redis.from_url(url)
    results = []
    try:
        for size in sizes:
            await _fill(redis, size)
            results.append(await _measure(redis, size, "console", REFRESHES))
            results.append(await _measure(redis, size, "inspect (SCAN)", 3))
    finally:
        await redis.aclose()
    return results
