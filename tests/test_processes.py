"""The processes as people run them: ``python -m bot`` and ``arq worker.main.WorkerSettings``."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from redis.asyncio import Redis

from sandbox.example_backend import ExampleBackend
from sandbox.redis_server import RedisServer
from sandbox.telegram_api import Person, TelegramStandIn
from tests.conftest import wait_until_idle

CY = Person(id=3003, first_name="Cy")


async def read_until(process: asyncio.subprocess.Process, marker: bytes) -> None:
    """Wait for a start-up log line, so the test never signals a process still importing."""
    assert process.stderr is not None
    async with asyncio.timeout(60):
        while marker not in await process.stderr.readline():
            pass


async def test_bot_and_two_worker_processes_answer_a_burst_once(
    redis_server: RedisServer, redis: Redis, telegram: TelegramStandIn, backend: ExampleBackend
) -> None:
    env = {
        **os.environ,
        "BOT_TOKEN": telegram.token,
        "TELEGRAM_API_URL": telegram.url,
        "REDIS_URL": redis_server.url,
        "BACKEND_URL": backend.url,
        "BATCH_WINDOW_SECONDS": "0.5",
    }
    commands = [
        [sys.executable, "-m", "bot"],
        [sys.executable, "-m", "worker"],
        [sys.executable, "-m", "arq", "worker.main.WorkerSettings"],
    ]
    processes = [
        await asyncio.create_subprocess_exec(
            *command, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        for command in commands
    ]
    try:
        await telegram.wait_for_poller()
        for worker in processes[1:]:
            await read_until(worker, b"Starting worker")
        for text in ("hi", "can I book", "a haircut", "tomorrow?"):
            await telegram.person_says(CY, text)
        replies = await telegram.wait_for_messages(CY.id, 1, timeout_seconds=60)
        await wait_until_idle(redis)
    finally:
        for process in processes:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        outputs = [await process.communicate() for process in processes]

    assert len(backend.calls) == 1
    assert backend.calls[0].request.text == "hi\ncan I book\na haircut\ntomorrow?"
    assert replies == telegram.messages_to(CY.id)
    assert len(replies) == 1
    for process, (_, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, (process.returncode, stderr.decode()[-3000:])
        assert b"Traceback" not in stderr


async def test_sigterm_lets_the_bot_finish_storing_a_message_redis_was_slow_to_take(
    telegram: TelegramStandIn,
) -> None:
    server = RedisServer(appendonly=True)
    server.start()
    env = {
        **os.environ,
        "BOT_TOKEN": telegram.token,
        "TELEGRAM_API_URL": telegram.url,
        "REDIS_URL": server.url,
        "BOT_SHUTDOWN_GRACE_SECONDS": "20",
    }
    bot = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        await telegram.wait_for_poller()
        server.stop()
        await telegram.person_says(CY, "sent just before a deploy")
        await read_until(bot, b"could not store message")
        bot.send_signal(signal.SIGTERM)
        await read_until(bot, b"to be stored")  # shutdown is waiting for the store
        server.start()
        _, rest = await bot.communicate()
    finally:
        if bot.returncode is None:
            bot.kill()
            await bot.wait()
    redis = Redis.from_url(server.url)
    try:
        pending = await redis.lrange(f"batch:{CY.id}", 0, -1)
    finally:
        await redis.aclose()
        server.remove()
    assert bot.returncode == 0, rest.decode()[-2000:]
    assert [b'"text":"sent just before a deploy"' in p for p in pending] == [True]
