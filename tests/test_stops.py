"""Stops as supervisors send them: SIGTERM to a whole process group (``timeout``,
systemd's control-group stop, Kubernetes), and SIGTERM to a process whose Redis dies at
the same instant. Each stop is timed; each must end within the process's grace time
plus 2 s and leave nothing running."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright
from redis.asyncio import Redis

from sandbox.example_backend import ExampleBackend
from sandbox.launcher import ChildProcess
from sandbox.redis_server import RedisServer, free_port
from sandbox.telegram_api import Person, TelegramStandIn
from shared.keys import ConversationKeys
from shared.models import Chat, IncomingMessage, MessageKind, User
from shared.rules import BatchingRules
from shared.store import BatchStore
from tests.browser import CHROMIUM_FLAGS, chromium_path, start_web_demo
from tests.conftest import SettingsFactory, WorkerProcess

DEMO_STOPS = 10
GRACE_SECONDS = 8  # WORKER_SHUTDOWN_GRACE_SECONDS and BOT_SHUTDOWN_GRACE_SECONDS defaults
ALLOWED_EXTRA_SECONDS = 2.0


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Only for the one test that uses it: Playwright's sync API holds an event loop open
    that the async tests of this module must not find."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


def test_sigterm_to_the_demos_group_with_both_pages_open_stops_it_ten_times_of_ten(
    browser: Browser,
) -> None:
    stops: list[float] = []
    for _ in range(DEMO_STOPS):
        demo = start_web_demo()
        context = browser.new_context()
        try:
            chat, console = context.new_page(), context.new_page()
            chat.goto(demo.chat_url)
            console.goto(demo.console_url)
            chat.wait_for_selector(".person")  # its event stream is open
            console.wait_for_selector("#status.status")  # refreshing
            started = time.monotonic()
            os.killpg(demo.process.pid, signal.SIGTERM)
            try:
                code = demo.process.wait(timeout=GRACE_SECONDS + 20)
            except subprocess.TimeoutExpired:
                code = None
            stops.append(time.monotonic() - started)
            leftovers = demo.leftovers()
        finally:
            context.close()
            if demo.process.poll() is None or demo.leftovers():
                os.killpg(demo.process.pid, signal.SIGKILL)
                demo.process.wait()
        assert code == 0, "\n".join(demo.output[-30:])
        assert leftovers == [], f"still running after the demo stopped: {leftovers}"
    print(f"demo stops (s): {', '.join(f'{s:.2f}' for s in stops)}")
    assert max(stops) <= GRACE_SECONDS + ALLOWED_EXTRA_SECONDS, stops


async def test_a_worker_whose_redis_dies_as_it_is_stopped_exits_within_its_grace(
    make_settings: SettingsFactory, backend: ExampleBackend
) -> None:
    """A batch is at a slow backend; Redis is SIGKILLed at the instant the worker gets
    SIGTERM. The batch cannot finish (its backend is slow, its Redis gone): the worker
    waits its grace for it, gives up, and its clean-up does not wait for Redis."""
    own_redis = RedisServer()
    own_redis.start()
    grace = 2
    settings = make_settings(worker_shutdown_grace_seconds=grace, redis_url=own_redis.url)
    backend.delay_seconds = 8  # longer than the grace; the teardown waits for it
    worker = await WorkerProcess.start(settings)
    try:
        client = Redis.from_url(own_redis.url)
        await queue_a_due_message(client)
        try:
            await backend.wait_for_received(1, timeout_seconds=10)
        except TimeoutError:
            raise AssertionError(worker.log_tail()) from None
        started = time.monotonic()
        own_redis.kill()
        worker.send_signal(signal.SIGTERM)
        async with asyncio.timeout(grace + 20):
            code = await worker.wait()
        took = time.monotonic() - started
        await client.aclose()
    finally:
        await worker.stop(signal.SIGKILL)
        own_redis.remove()
    print(f"worker stop with Redis gone: {took:.2f}s (grace {grace}s)")
    assert code == 0, worker.log_tail()
    assert took <= grace + ALLOWED_EXTRA_SECONDS, worker.log_tail()


async def test_a_bot_whose_redis_dies_as_it_is_stopped_exits_within_its_grace(
    redis_server: RedisServer, telegram: TelegramStandIn
) -> None:
    """A message is being stored when Redis dies and the bot gets SIGTERM: it waits its
    grace for the store, leaves the update unconfirmed for Telegram, and exits. Shown by
    Telegram holding the update, and by the next bot, once Redis is back, storing it."""
    own_redis = RedisServer()
    own_redis.start()
    grace = 2
    env = {
        **os.environ,
        "BOT_TOKEN": telegram.token,
        "TELEGRAM_API_URL": telegram.url,
        "REDIS_URL": own_redis.url,
        "BOT_METRICS_PORT": str(free_port()),
        "BOT_SHUTDOWN_GRACE_SECONDS": str(grace),
    }
    bot = await ChildProcess.launch([sys.executable, "-m", "bot"], env, b"Run polling")
    try:
        own_redis.kill()
        await telegram.person_says(Person(id=8801, first_name="Ola"), "are you there?")
        await bot.wait_for_log(b"could not store message")
        started = time.monotonic()
        bot.send_signal(signal.SIGTERM)
        async with asyncio.timeout(grace + 20):
            code = await bot.wait()
        took = time.monotonic() - started
        assert "are you there?" in telegram.unconfirmed_texts()  # Telegram still holds it
        own_redis.start()
        again = await ChildProcess.launch([sys.executable, "-m", "bot"], env, b"Run polling")
        client = Redis.from_url(own_redis.url)
        try:
            async with asyncio.timeout(30):  # delivered again, and stored this time
                while not await client.llen(ConversationKeys("8801").batch):
                    await asyncio.sleep(0.05)
            [stored] = await client.lrange(ConversationKeys("8801").batch, 0, -1)
        finally:
            await client.aclose()
            assert await again.stop() == 0
    finally:
        await bot.stop(signal.SIGKILL)
        own_redis.remove()
    print(f"bot stop with Redis gone: {took:.2f}s (grace {grace}s)")
    assert code == 0, bot.log_tail()
    assert took <= grace + ALLOWED_EXTRA_SECONDS, bot.log_tail()
    assert bot.logged(b"not stored before shutdown; Telegram delivers them again")
    assert b"are you there?" in stored


async def queue_a_due_message(client: Redis) -> None:
    rules = BatchingRules(
        window_ms=1,
        max_wait_ms=1000,
        max_messages=10,
        max_pending_messages=10,
        max_pending_bytes=65536,
        max_message_bytes=65536,
    )
    message = IncomingMessage(
        message_id=1, date="2026-11-29T10:00:00Z", kind=MessageKind.TEXT, text="slow one"
    )
    await BatchStore(client, 3600).append(
        "8802", Chat(id=8802, type="private"), User(id=8802, first_name="Ida"), message, rules
    )
