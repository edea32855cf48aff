"""Real parts for every test: a redis-server the suite starts itself, the sandbox's
Bot API and backend on loopback, the real bot dispatcher polling over HTTP and real
ARQ workers. Only time is shortened: windows of a second instead of ten.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from pydantic import SecretStr
from redis.asyncio import Redis

from bot.intake import StoringIntake, batch_store
from bot.settings import BotSettings
from channels.telegram import make_bot
from channels.telegram.receiver.dispatcher import make_dispatcher
from channels.telegram.receiver.polling import poll_until_stopped
from sandbox.example_backend import ExampleBackend
from sandbox.launcher import ChildProcess
from sandbox.openai_api import OpenAIStandIn
from sandbox.redis_server import RedisServer, free_port
from sandbox.telegram_api import TelegramStandIn
from sandbox.whatsapp_api import WhatsAppStandIn
from shared.keys import PENDING_INDEX
from shared.models import BatchRequest, BatchResponse, OutgoingMessage
from shared.redis_connection import redis_client
from worker.arq_seams import BatchWorker
from worker.options import worker_options
from worker.settings import WorkerProcessSettings

# Many bots and workers run side by side here: no metrics ports unless a test asks.
os.environ.update({"BOT_METRICS_PORT": "0", "WORKER_METRICS_PORT": "0"})


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.remove()


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_server.url)
    await client.flushall()
    yield client
    await client.aclose()


@pytest.fixture
async def telegram() -> AsyncIterator[TelegramStandIn]:
    stand_in = TelegramStandIn()
    await stand_in.start()
    yield stand_in
    await stand_in.stop()


@pytest.fixture
async def backend() -> AsyncIterator[ExampleBackend]:
    server = ExampleBackend()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def whatsapp() -> AsyncIterator[WhatsAppStandIn]:
    stand_in = WhatsAppStandIn()
    await stand_in.start()
    yield stand_in
    await stand_in.stop()


@pytest.fixture
async def model() -> AsyncIterator[OpenAIStandIn]:
    """The OpenAI-compatible stand-in (BACKEND_PROTOCOL=openai)."""
    stand_in = OpenAIStandIn()
    await stand_in.start()
    yield stand_in
    await stand_in.stop()


@pytest.fixture
async def durable_redis() -> AsyncIterator[RedisServer]:
    """A redis-server of the test's own with AOF, so a stop and start keeps the data.

    Ask for it before ``product`` so the product is stopped while Redis still runs.
    """
    server = RedisServer(appendonly=True)
    server.start()
    yield server
    server.remove()


async def three_parts(request: BatchRequest) -> BatchResponse:
    """A backend answer of three messages, to see where a reply stopped and resumed."""
    return BatchResponse(messages=[OutgoingMessage(text=f"part {n}") for n in (1, 2, 3)])


SettingsFactory = Callable[..., WorkerProcessSettings]


@pytest.fixture
def make_settings(
    redis_server: RedisServer, redis: Redis, telegram: TelegramStandIn, backend: ExampleBackend
) -> SettingsFactory:
    """Settings for a product on the session's Redis, emptied for this test (``redis``)."""

    def factory(**overrides: Any) -> WorkerProcessSettings:
        values: dict[str, Any] = {
            "bot_token": telegram.token,
            "telegram_api_url": telegram.url,
            "redis_url": redis_server.url,
            "backend_url": backend.url,
            "batch_window_seconds": 0.5,
            "batch_max_messages": 10,
            "batch_max_wait_seconds": 10.0,
            "backend_retry_base_seconds": 0.2,
            "backend_retry_max_seconds": 1.0,
            "sweep_interval_seconds": 1.0,
            "worker_metrics_port": 0,
        }
        values.update(overrides)
        return WorkerProcessSettings(**values)

    return factory


class Product:
    """The bot and any number of workers, running in this test's event loop."""

    def __init__(self) -> None:
        self._tasks: list[asyncio.Task[Any]] = []
        self._closers: list[Callable[[], Awaitable[Any]]] = []
        self._stops: list[asyncio.Event] = []

    async def start_bot(self, settings: WorkerProcessSettings) -> None:
        bot_settings = BotSettings(**settings.model_dump())
        redis = redis_client(bot_settings)
        bot = make_bot(bot_settings)
        intake = StoringIntake.of(batch_store(redis, bot_settings), bot_settings)
        dispatcher = make_dispatcher(intake.patient(), bot_settings)
        stop = asyncio.Event()
        polling = poll_until_stopped(dispatcher, bot, stop, grace_seconds=5, poll_timeout_seconds=1)
        self._tasks.append(asyncio.create_task(polling))
        self._stops.append(stop)
        self._closers.append(redis.aclose)
        self._closers.append(bot.session.close)

    async def start(self, settings: WorkerProcessSettings, workers: int = 1) -> None:
        """The bot and ``workers`` workers: the whole product."""
        await self.start_bot(settings)
        await self.start_workers(settings, workers)

    async def start_workers(self, settings: WorkerProcessSettings, count: int = 1) -> None:
        for _ in range(count):
            worker = BatchWorker(**worker_options(settings), handle_signals=False)
            self._tasks.append(asyncio.create_task(worker.async_run()))
            self._closers.append(worker.close)

    def crashed(self) -> list[BaseException]:
        """Errors that ended a bot or worker early: a running product has none."""
        return [t.exception() for t in self._tasks if t.done() and t.exception() is not None]  # type: ignore[misc]

    async def stop(self) -> None:
        for stop in self._stops:
            stop.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for close in self._closers:
            await close()


@pytest.fixture
async def product() -> AsyncIterator[Product]:
    running = Product()
    yield running
    await running.stop()


async def wait_until_idle(redis: Redis, timeout_seconds: float = 30.0) -> None:
    """Wait until no conversation has pending or claimed work and no job is queued."""
    async with asyncio.timeout(timeout_seconds):
        while True:
            pending = await redis.zcard(PENDING_INDEX)
            queued = await redis.zcard("arq:queue")
            if pending == 0 and queued == 0:
                return
            await asyncio.sleep(0.02)


class WorkerProcess(ChildProcess):
    """``python -m worker`` as its own process, so a test can SIGKILL it."""

    @classmethod
    async def start(cls, settings: WorkerProcessSettings) -> WorkerProcess:
        env = {**os.environ, **settings_environment(settings)}
        return await cls.launch([sys.executable, "-m", "worker"], env, b"Starting worker")


def settings_environment(settings: WorkerProcessSettings) -> dict[str, str]:
    """The environment variables that reproduce these settings in another process."""
    environment: dict[str, str] = {}
    for name, value in settings.model_dump(mode="json").items():
        real = getattr(settings, name)
        if real is None:
            continue
        shown = real.get_secret_value() if isinstance(real, SecretStr) else value
        environment[name.upper()] = str(shown)
    return environment


@pytest.fixture
async def worker_processes() -> AsyncIterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        await worker.stop(signal.SIGKILL)


async def run_batchctl(redis_url: str, *args: str, **env: str) -> str:
    """``python -m batchctl <args>`` against this Redis: what it printed (it must exit 0)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "batchctl",
        *args,
        env={**os.environ, "REDIS_URL": redis_url, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    return stdout.decode()


async def launch_polling_bot(
    redis_url: str, telegram: TelegramStandIn, **settings: str
) -> tuple[ChildProcess, int]:
    """``python -m bot`` polling the stand-in, its ops port on a free port (returned);
    ``settings`` are more of its environment (``PROACTIVE_TOKEN="..."``)."""
    port = free_port()
    env = {
        **os.environ,
        "BOT_TOKEN": telegram.token,
        "TELEGRAM_API_URL": telegram.url,
        "REDIS_URL": redis_url,
        "BOT_METRICS_PORT": str(port),
        **settings,
    }
    bot = await ChildProcess.launch([sys.executable, "-m", "bot"], env, b"Run polling")
    return bot, port


@pytest.fixture
async def bot_process() -> AsyncIterator[list[ChildProcess]]:
    """Bot processes a test starts: each must stop with 0 and no traceback."""
    started: list[ChildProcess] = []
    yield started
    for process in started:
        code = await process.stop()
        assert code == 0, process.log_tail()
        assert not process.logged(b"Traceback"), process.log_tail()
