"""Scale: 10,000 people each send a 5-message burst through the real processes.

The bot (``python -m bot``, polling the Bot API stand-in) and worker processes run
against a redis-server of their own, so its peak memory is this run's. Checked at
the end: every message reached the backend exactly once, every batch got exactly one
reply, and no batch of a person overlapped another.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from dataclasses import dataclass

from redis.asyncio import Redis

from bench.common import product_environment, sandbox, workers
from sandbox.launcher import ChildProcess
from sandbox.redis_server import RedisServer
from sandbox.telegram_api import Person
from shared.keys import PENDING_INDEX

BURST = ("hi", "can I book", "a haircut", "tomorrow?", "thanks")


@dataclass(frozen=True, slots=True)
class ScaleResult:
    people: int
    messages: int
    workers: int
    seconds: float
    batches: int
    replies: int
    lost_messages: int
    messages_in_two_batches: int
    overlapping_batches: int
    people_without_reply: int
    extra_replies: int
    peak_redis_mb: float


async def run(people: int = 10_000, worker_count: int = 2) -> ScaleResult:
    server = RedisServer()
    server.start()
    redis = Redis.from_url(server.url)
    try:
        async with sandbox() as (telegram, backend):
            env = product_environment(server.url, telegram, backend, batch_window_seconds=2)
            bot = await ChildProcess.launch(
                [sys.executable, "-m", "bot"], {**env, "LOG_LEVEL": "INFO"}, b"Run polling"
            )
            async with workers(env, worker_count):
                started = time.monotonic()
                for n in range(people):
                    person = Person(id=500_000 + n, first_name="P")
                    await telegram.deliver(*(telegram.compose(person, text) for text in BURST))
                async with asyncio.timeout(600):
                    await backend.wait_for_answered_messages(people * len(BURST), 600)
                    while await redis.zcard(PENDING_INDEX):  # a split batch still pending
                        await asyncio.sleep(0.1)
                    await telegram.wait_for_sent(len(backend.calls), 600)
                seconds = time.monotonic() - started
            await bot.stop()
        peak = int((await redis.info("memory"))["used_memory_peak"])
    finally:
        await redis.aclose()
        server.remove()

    arrivals = Counter(
        (call.request.user.id, m) for call in backend.calls for m in call.message_ids
    )
    replies = Counter(message.chat_id for message in telegram.sent)
    batches = Counter(call.request.user.id for call in backend.calls)
    return ScaleResult(
        people=people,
        messages=people * len(BURST),
        workers=worker_count,
        seconds=seconds,
        batches=len(backend.calls),
        replies=len(telegram.sent),
        lost_messages=people * len(BURST) - len(arrivals),
        messages_in_two_batches=sum(1 for n in arrivals.values() if n > 1),
        overlapping_batches=backend.overlaps,
        people_without_reply=people - len(replies),
        extra_replies=sum(
            replies[user] - batches[user] for user in replies if replies[user] > batches[user]
        ),
        peak_redis_mb=peak / 1e6,
    )
