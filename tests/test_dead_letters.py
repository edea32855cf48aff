"""A backend that keeps failing: retried within a budget, then a dead letter the person is
told about, which an operator can list, show, replay (in order) and purge with batchctl."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from redis.asyncio import Redis

from sandbox.example_backend import ExampleBackend
from sandbox.peek import pending_count
from sandbox.redis_server import RedisServer
from sandbox.telegram_api import Person, TelegramStandIn
from shared.keys import DEAD_LETTERS_INDEX
from tests.conftest import Product, SettingsFactory, wait_until_idle

FAY = Person(id=7007, first_name="Fay")
SORRY = "Sorry, we are having trouble. Try again soon."


def batchctl(redis_server: RedisServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REDIS_URL": redis_server.url}
    return subprocess.run(
        [sys.executable, "-m", "batchctl", "dead-letters", *args],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


async def dead_letter_ids(redis: Redis, count: int) -> list[str]:
    async with asyncio.timeout(30):
        while await redis.zcard(DEAD_LETTERS_INDEX) < count:
            await asyncio.sleep(0.02)
    return [raw.decode() for raw in await redis.zrange(DEAD_LETTERS_INDEX, 0, -1)]


async def test_an_outage_past_the_budget_becomes_a_dead_letter_that_replays_in_order(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
    redis_server: RedisServer,
) -> None:
    backend.failure_status = 503
    settings = make_settings(
        backend_retry_budget_seconds=1.5,
        backend_retry_base_seconds=0.2,
        backend_retry_max_seconds=0.4,
        backend_failure_reply=SORRY,
    )
    await product.start(settings)

    await telegram.person_says(FAY, "first")
    await telegram.person_says(FAY, "second")
    [batch_id] = await dead_letter_ids(redis, 1)
    await telegram.wait_for_messages(FAY.id, 1)
    await wait_until_idle(redis)
    assert telegram.messages_to(FAY.id) == [SORRY]
    assert backend.failures >= 3  # retried with back-off before giving up

    listed = batchctl(redis_server, "list")
    assert listed.returncode == 0, listed.stderr
    assert batch_id in listed.stdout
    assert "retry budget spent: backend answered 503" in listed.stdout
    shown = batchctl(redis_server, "show", batch_id)
    assert '"text": "first"' in shown.stdout and '"text": "second"' in shown.stdout

    # The backend is back; Fay has written again; the operator replays the dead letter.
    backend.failure_status = None
    await telegram.person_says(FAY, "hello again?")
    async with asyncio.timeout(10):
        while not await pending_count(redis, str(FAY.id)):
            await asyncio.sleep(0.02)
    replayed = batchctl(redis_server, "replay", batch_id)
    assert replayed.returncode == 0, replayed.stderr

    await telegram.wait_for_messages(FAY.id, 2)
    await wait_until_idle(redis)
    assert [[m.text for m in c.request.messages] for c in backend.calls] == [
        ["first", "second", "hello again?"]
    ]
    assert await redis.zcard(DEAD_LETTERS_INDEX) == 0
    assert batchctl(redis_server, "show", batch_id).returncode == 1


async def test_a_4xx_is_dead_lettered_at_once_with_the_body_shortened(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
    redis_server: RedisServer,
) -> None:
    backend.failure_status = 400
    backend.failure_body = "bad request " + "x" * 5000
    settings = make_settings(backend_failure_reply="")
    await product.start(settings)

    await telegram.person_says(FAY, "hi")
    [batch_id] = await dead_letter_ids(redis, 1)
    await wait_until_idle(redis)
    assert backend.failures == 1
    assert telegram.messages_to(FAY.id) == []  # no apology configured

    shown = batchctl(redis_server, "show", batch_id).stdout
    assert "backend answered 400: bad request xxx" in shown
    assert "(5012 characters in all)" in shown

    assert batchctl(redis_server, "purge", "--all").stdout.strip() == "purged 1 dead letter(s)"
    assert await redis.zcard(DEAD_LETTERS_INDEX) == 0
    missing = batchctl(redis_server, "replay", batch_id)
    assert missing.returncode == 1
    assert f"no dead letter '{batch_id}'" in missing.stderr
