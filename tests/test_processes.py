"""The processes as people run them: ``python -m bot`` and ``arq worker.main.WorkerSettings``."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
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


_IMPORTS_OF_A_CHECK = """
import runpy, sys
sys.argv = ["worker", "--check"]
try:
    runpy.run_module("worker", run_name="__main__")
except SystemExit as stop:
    code = stop.code
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"aiogram", "arq", "httpx"})
print(code, heavy)
"""


def test_the_workers_healthcheck_imports_neither_aiogram_nor_arqs_worker(
    redis_server: RedisServer,
) -> None:
    """A container's healthcheck runs this every 15 s with a 10 s timeout: importing
    aiogram's types (about 4 s of CPU) could mark a busy, healthy worker unhealthy."""
    env = {**os.environ, "REDIS_URL": redis_server.url}
    finished = subprocess.run(
        [sys.executable, "-c", _IMPORTS_OF_A_CHECK],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    *said, imported = finished.stdout.splitlines()
    assert said == [f"unhealthy: no worker on {socket.gethostname()} recorded its health recently"]
    assert imported == "1 []", finished.stdout + finished.stderr
