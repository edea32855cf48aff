"""Core figures: Redis round trips per incoming message, and batch start lateness.

Each figure is measured next to a baseline in the same run:
- round trips: batchbot's handler path vs the naive batcher it replaces (read the JSON
  list, write it back, write a timestamp key, enqueue a new ARQ job per message);
- lateness: workers with batchbot's poll delay vs ARQ's default 0.5 s.

Run: ``.venv/bin/python -m bench.core`` (starts its own redis-server and sandbox).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from typing import Any

from aiogram.types import Update
from arq.connections import ArqRedis
from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.connection import Connection

from bot.app import make_bot, make_dispatcher
from sandbox.example_backend import ExampleBackend
from sandbox.redis_server import RedisServer
from sandbox.telegram_api import Person, TelegramStandIn
from shared.models import Chat, IncomingMessage, MessageKind, User
from shared.settings import BotSettings, Limits
from shared.store import BatchStore

ROUND_TRIPS = 0


class CountingConnection(Connection):
    """Counts requests sent to Redis: one per command, one per pipeline execute."""

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        global ROUND_TRIPS  # noqa: PLW0603 - a benchmark's one counter
        ROUND_TRIPS += 1
        await super().send_packed_command(command, check_health)


def counting_client(url: str) -> Redis:
    return Redis(connection_pool=ConnectionPool.from_url(url, connection_class=CountingConnection))


async def ingest_batchbot(url: str, updates: list[dict[str, Any]]) -> tuple[float, float]:
    """Messages through aiogram's real dispatcher and handler, into Redis."""
    global ROUND_TRIPS  # noqa: PLW0603
    settings = BotSettings(bot_token="123:bench", redis_url=url)
    redis = counting_client(url)
    bot = make_bot(settings)
    dispatcher = make_dispatcher(redis, settings)
    await redis.ping()
    ROUND_TRIPS = 0
    started = time.perf_counter()
    for raw in updates:
        await dispatcher.feed_update(bot, Update.model_validate(raw, context={"bot": bot}))
    elapsed = time.perf_counter() - started
    trips = ROUND_TRIPS / len(updates)
    await redis.aclose()
    await bot.session.close()
    return trips, len(updates) / elapsed


async def ingest_naive(url: str, updates: list[dict[str, Any]]) -> tuple[float, float]:
    """The replaced design: JSON list read-modify-write, a timestamp key, a job per message."""
    global ROUND_TRIPS  # noqa: PLW0603
    redis = ArqRedis(
        connection_pool=ConnectionPool.from_url(url, connection_class=CountingConnection)
    )
    await redis.ping()
    ROUND_TRIPS = 0
    started = time.perf_counter()
    for raw in updates:
        message = raw["message"]
        user = message["from"]["id"]
        stored = await redis.get(f"naive:batch:{user}")
        items = json.loads(stored) if stored else []
        items.append(message)
        await redis.set(f"naive:batch:{user}", json.dumps(items), ex=3600)
        await redis.set(f"naive:last:{user}", time.time(), ex=3600)
        await redis.enqueue_job("naive_batch", user, _defer_by=10)
    elapsed = time.perf_counter() - started
    await redis.aclose()
    return ROUND_TRIPS / len(updates), len(updates) / elapsed


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def lateness(url: str, conversations: int, poll_delay: float, spread_s: float) -> list[float]:
    """Start two worker processes; each pending conversation's start minus its deadline (ms)."""
    telegram = TelegramStandIn()
    backend = ExampleBackend()
    await telegram.start()
    await backend.start()
    redis = Redis.from_url(url)
    await redis.flushall()
    env = {
        **os.environ,
        "BOT_TOKEN": telegram.token,
        "TELEGRAM_API_URL": telegram.url,
        "REDIS_URL": url,
        "BACKEND_URL": backend.url,
        "BOT_METRICS_PORT": "0",  # several processes share this host
        "WORKER_METRICS_PORT": "0",
        "WORKER_POLL_DELAY_SECONDS": str(poll_delay),
        "WORKER_MAX_JOBS": "50",
    }
    command = [sys.executable, "-m", "worker"]
    workers = [
        await asyncio.create_subprocess_exec(*command, env=env, stderr=asyncio.subprocess.PIPE)
        for _ in range(2)
    ]
    drains = []
    for worker in workers:
        assert worker.stderr is not None
        while b"Starting worker" not in await worker.stderr.readline():
            pass
        drains.append(asyncio.create_task(worker.stderr.read()))  # keep the pipe flowing
    store = BatchStore(redis, 7 * 86400)
    deadlines: dict[int, int] = {}
    lead_ms = 2000  # every conversation is pending before the first one is due
    for n in range(conversations):
        user_id = 10_000 + n
        window = lead_ms + round(spread_s * 1000 * n / conversations)
        result = await store.append(
            str(user_id),
            Chat(id=user_id, type="private"),
            User(id=user_id, first_name="Bench"),
            IncomingMessage(message_id=1, date=datetime.now(UTC), kind=MessageKind.TEXT, text="hi"),
            window_ms=window,
            max_wait_ms=window,
            max_messages=10,
            limits=Limits(10, 1_000_000, 100_000),
        )
        deadlines[user_id] = result.deadline_ms
    await backend.wait_for_answered_messages(conversations, timeout_seconds=spread_s + 120)
    late = [call.started_wall * 1000 - deadlines[call.request.user.id] for call in backend.calls]
    for worker in workers:
        worker.terminate()
        await worker.wait()
    await asyncio.gather(*drains)
    await redis.aclose()
    await backend.stop()
    await telegram.stop()
    return late


async def main() -> None:
    server = RedisServer()
    server.start()
    try:
        stand_in = TelegramStandIn()
        people = [Person(id=100 + n, first_name=f"P{n}") for n in range(100)]
        updates = [stand_in.compose(people[n % 100], f"message {n}") for n in range(2000)]
        ours = await ingest_batchbot(server.url, updates)
        naive = await ingest_naive(server.url, updates)
        print("Ingest, 2,000 messages from 100 people, one at a time through the handler path")
        print(f"  {'':10} {'round trips/msg':>16} {'msgs/s':>10}")
        print(f"  {'batchbot':10} {ours[0]:16.2f} {ours[1]:10.0f}")
        print(f"  {'naive':10} {naive[0]:16.2f} {naive[1]:10.0f}")
        print(f"  ratio      {naive[0] / ours[0]:15.1f}x fewer {ours[1] / naive[1]:9.1f}x faster")

        print("Batch start lateness after the deadline, 1,000 pending conversations, 2 workers")
        print(f"  {'poll delay':10} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
        for label, poll in (("0.05 s", 0.05), ("0.5 s*", 0.5)):
            late = await lateness(server.url, 1000, poll, spread_s=10.0)
            print(
                f"  {label:10} {statistics.median(late):8.1f} "
                f"{percentile(late, 0.99):8.1f} {max(late):8.1f}"
            )
        print("  * ARQ's default poll delay, the baseline")
        print(f"Machine: {os.cpu_count()} cores; Python {sys.version.split()[0]}")
    finally:
        server.remove()


if __name__ == "__main__":
    asyncio.run(main())
