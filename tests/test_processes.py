"""The processes as people run them: ``python -m bot`` and ``arq worker.main.WorkerSettings``."""

from __future__ import annotations

import os
import signal
import sys

from redis.asyncio import Redis

from sandbox.example_backend import ExampleBackend
from sandbox.launcher import ChildProcess, launch_together
from sandbox.redis_server import RedisServer
from sandbox.telegram_api import Person, TelegramStandIn
from tests.conftest import wait_until_idle

CY = Person(id=3003, first_name="Cy")


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
    processes = await launch_together(
        [
            ChildProcess.launch([sys.executable, "-m", "bot"], env, b"Run polling"),
            ChildProcess.launch([sys.executable, "-m", "worker"], env, b"Starting worker"),
            ChildProcess.launch(
                [sys.executable, "-m", "arq", "worker.main.WorkerSettings"], env, b"Starting worker"
            ),
        ]
    )
    try:
        await telegram.wait_for_poller()
        for text in ("hi", "can I book", "a haircut", "tomorrow?"):
            await telegram.person_says(CY, text)
        replies = await telegram.wait_for_messages(CY.id, 1, timeout_seconds=60)
        await wait_until_idle(redis)
    finally:
        codes = [await process.stop() for process in processes]

    assert len(backend.calls) == 1
    assert backend.calls[0].request.text == "hi\ncan I book\na haircut\ntomorrow?"
    assert replies == telegram.messages_to(CY.id)
    assert len(replies) == 1
    for process, code in zip(processes, codes, strict=True):
        assert code == 0, (code, process.log_tail())
        assert not process.logged(b"Traceback")


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
    bot = await ChildProcess.launch([sys.executable, "-m", "bot"], env, b"Run polling")
    try:
        await telegram.wait_for_poller()
        server.stop()
        await telegram.person_says(CY, "sent just before a deploy")
        await bot.wait_for_log(b"could not store message")
        bot.send_signal(signal.SIGTERM)
        await bot.wait_for_log(b"to be stored")  # shutdown is waiting for the store
        server.start()
        code = await bot.wait()
    finally:
        await bot.stop(signal.SIGKILL)
    redis = Redis.from_url(server.url)
    try:
        pending = await redis.lrange(f"batch:{CY.id}", 0, -1)
    finally:
        await redis.aclose()
        server.remove()
    assert code == 0, bot.log_tail()
    assert [b'"text":"sent just before a deploy"' in p for p in pending] == [True]
