"""Redis away: the bot loses no update across SIGTERM and SIGKILL, and every process
names an unreachable REDIS_URL in one line."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

from redis.asyncio import Redis

from sandbox.example_backend import ExampleBackend
from sandbox.launcher import ChildProcess
from sandbox.redis_server import RedisServer, free_port
from sandbox.telegram_api import Person, TelegramStandIn
from tests.conftest import Product, SettingsFactory, settings_environment, wait_until_idle

HAL = Person(id=6606, first_name="Hal")


async def test_updates_fetched_while_redis_is_down_survive_sigterm_and_sigkill_of_the_bot(
    durable_redis: RedisServer,  # first, so it outlives the product at teardown
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
) -> None:
    settings = make_settings(redis_url=durable_redis.url, redis_outage_tolerance_seconds=120)
    env = {**os.environ, **settings_environment(settings), "BOT_SHUTDOWN_GRACE_SECONDS": "1"}
    command = [sys.executable, "-m", "bot"]
    await product.start_workers(settings)
    bot = await ChildProcess.launch(command, env, b"Run polling")
    await telegram.person_says(HAL, "before")
    await telegram.wait_for_messages(HAL.id, 1)

    durable_redis.stop()
    await telegram.person_says(HAL, "during one")
    await telegram.person_says(HAL, "during two")
    await bot.wait_for_log(b"could not store message")  # fetched, not stored, not confirmed
    assert await bot.stop(signal.SIGTERM) == 0
    assert bot.logged(b"Telegram delivers them again at the next start")

    bot = await ChildProcess.launch(command, env, b"cannot be reached")  # waits for Redis
    await telegram.person_says(HAL, "during three")
    await bot.stop(signal.SIGKILL)

    durable_redis.start()
    bot = await ChildProcess.launch(command, env, b"Run polling")
    try:
        await telegram.wait_for_messages(HAL.id, 2, timeout_seconds=60)
        redis = Redis.from_url(durable_redis.url)
        try:
            await wait_until_idle(redis)
        finally:
            await redis.aclose()
    finally:
        await bot.stop()
    delivered = [m.text for call in backend.calls for m in call.request.messages]
    assert delivered == ["before", "during one", "during two", "during three"]


async def test_an_unreachable_redis_url_is_named_in_one_line_without_its_password(
    make_settings: SettingsFactory,
) -> None:
    port = free_port()  # nothing listens there
    url = f"redis://:hunter2-password@127.0.0.1:{port}/0"
    settings = make_settings(redis_url=url, redis_outage_tolerance_seconds=2)
    env = {**os.environ, **settings_environment(settings)}
    shown = f"REDIS_URL redis://127.0.0.1:{port}/0 cannot be reached"

    worker = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "worker"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert worker.returncode == 1
    waiting, gave_up = worker.stderr.strip().splitlines()
    assert shown in waiting and "waiting for it" in waiting
    assert gave_up.startswith(f"batchbot cannot start: {shown}")

    batchctl = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "batchctl", "inspect"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert batchctl.returncode == 1
    [line] = batchctl.stderr.strip().splitlines()
    assert line.startswith(f"batchctl: {shown} (ConnectionError: ")
    assert line.endswith("check the address and that Redis is running")

    bot = await ChildProcess.launch([sys.executable, "-m", "bot"], env, b"cannot be reached")
    # Past the 2 s tolerance the worker and batchctl gave up at: the bot keeps waiting (its
    # platform holds the updates meanwhile). Not a race hidden: the assertion is "alive".
    exited = asyncio.create_task(bot.process.wait())
    done, _ = await asyncio.wait({exited}, timeout=settings.redis_outage_tolerance_seconds + 2)
    assert not done and bot.returncode is None
    await bot.stop()
    for output in (worker.stderr, batchctl.stderr, bot.log.decode()):
        assert "hunter2-password" not in output
        assert "Traceback" not in output
