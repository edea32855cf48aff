"""What every benchmark needs: percentiles, CPU readings, and product processes to start.

Benchmarks measure a figure next to its baseline in the same run, because the machines
they run on are shared and noisy: ratios and medians travel, absolute numbers less so.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from redis.asyncio import Redis

from sandbox.environment import product_environment as sandbox_environment
from sandbox.example_backend import ExampleBackend
from sandbox.launcher import ChildProcess, launch_together
from sandbox.telegram_api import TelegramStandIn
from shared.models import Chat, IncomingMessage, MessageKind, User
from shared.rules import BatchingRules
from shared.store import BatchStore

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


async def pending_message(
    store: BatchStore,
    conversation: str,
    user_id: int,
    due_in_ms: int,
    message_id: int = 1,
    text: str = "hi",
) -> int:
    """A person's text stored as the bot stores it, its batch due in ``due_in_ms`` (a
    private chat, room for 10 messages); the batch's deadline (ms)."""
    result = await store.append(
        conversation,
        Chat(id=user_id, type="private"),
        User(id=user_id, first_name="Bench"),
        IncomingMessage(
            message_id=message_id, date=datetime.now(UTC), kind=MessageKind.TEXT, text=text
        ),
        BatchingRules(
            window_ms=due_in_ms,
            max_wait_ms=due_in_ms,
            max_messages=10,
            max_pending_messages=10,
            max_pending_bytes=1_000_000,
            max_message_bytes=100_000,
        ),
    )
    return result.deadline_ms


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


async def redis_cpu_seconds(redis: Redis) -> float:
    info = await redis.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


async def redis_commands(redis: Redis) -> int:
    """Commands Redis has executed, scripts' inner calls included."""
    stats = await redis.info("commandstats")
    return sum(int(entry["calls"]) for entry in stats.values())


async def wait_for_port(port: int, timeout_seconds: float = 60.0) -> None:
    """Until something accepts connections on the loopback port."""
    async with asyncio.timeout(timeout_seconds):
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.1)
                continue
            writer.close()
            await writer.wait_closed()
            return


def product_environment(
    redis_url: str, telegram: TelegramStandIn, backend: ExampleBackend, **settings: object
) -> dict[str, str]:
    """The sandbox's environment, logging at WARNING unless ``settings`` say otherwise."""
    env = sandbox_environment(redis_url, telegram, backend)
    env.update(
        {name.upper(): str(value) for name, value in {"LOG_LEVEL": "WARNING", **settings}.items()}
    )
    return env


@contextlib.asynccontextmanager
async def workers(env: dict[str, str], count: int) -> AsyncIterator[list[ChildProcess]]:
    """``count`` worker processes (``python -m worker``), stopped on exit."""
    # The start-up log line is INFO; the benchmark's WARNING level would hide it.
    started = await launch_together(
        [
            ChildProcess.launch(
                [sys.executable, "-m", "worker"], {**env, "LOG_LEVEL": "INFO"}, b"Starting worker"
            )
            for _ in range(count)
        ]
    )
    try:
        yield started
    finally:
        for process in started:
            await process.stop()


@contextlib.asynccontextmanager
async def sandbox(
    delay_seconds: float = 0.0,
) -> AsyncIterator[tuple[TelegramStandIn, ExampleBackend]]:
    """The Bot API stand-in and the example backend, in this process."""
    telegram = TelegramStandIn()
    backend = ExampleBackend(delay_seconds=delay_seconds)
    await telegram.start()
    await backend.start()
    try:
        yield telegram, backend
    finally:
        await backend.stop()
        await telegram.stop()
