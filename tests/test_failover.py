"""Redis high availability: the primary SIGKILLed mid-traffic (once, and twice in a row
with the old primary restarted as a replica between), Sentinel promotes a replica, and
with REDIS_WAIT_REPLICAS=1 and two replicas writes keep flowing: no acknowledged message
is lost or doubled."""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from redis.asyncio import Redis

from sandbox.environment import whatsapp_environment
from sandbox.example_backend import ExampleBackend
from sandbox.launcher import ChildProcess
from sandbox.redis_sentinel import MASTER_NAME, SentinelGroup
from sandbox.redis_server import RedisServer, free_port
from sandbox.telegram_api import Person, TelegramStandIn
from sandbox.whatsapp_api import WhatsAppStandIn
from sandbox.whatsapp_wire import WaPerson, delivery_json, text_json
from shared.keys import ConversationKeys
from tests.answered import (
    answered_calls,
    answered_messages,
    replies_by_batch,
    tagged,
    wait_until_all_answered,
)
from tests.conftest import Product
from tests.replicas import until_in_sync
from worker.settings import WorkerProcessSettings

PEOPLE = 50
BURSTS = 3
BURST = 3


@pytest.fixture
async def ha() -> AsyncIterator[SentinelGroup]:
    servers = SentinelGroup()
    await servers.until_ready()
    yield servers
    servers.remove()


async def person(
    telegram: TelegramStandIn, who: Person, rng: random.Random, until: asyncio.Event
) -> int:
    """Bursts of BURST messages with pauses: at least BURSTS, and on until ``until`` is
    set (every failover done); how many messages were sent."""
    await asyncio.sleep(rng.uniform(0, 1))
    burst = 0
    while burst < BURSTS or not until.is_set():
        for n in range(BURST):
            await telegram.person_says(who, f"{who.first_name} {burst}.{n}")
            await asyncio.sleep(rng.uniform(0, 0.1))
        await asyncio.sleep(rng.uniform(1.0, 2.0))
        burst += 1
    return burst * BURST


@pytest.mark.parametrize(
    ("kill_after_seconds", "failovers"),
    [
        pytest.param(2.5, 2, id="twice-in-a-row-mid-traffic"),
        # As the first messages are stored: the workers' connections are the ones ARQ
        # made before start-up gave them the outage retry (they once died of it).
        pytest.param(0.3, 1, id="at-the-first-messages"),
    ],
)
async def test_the_primary_killed_loses_no_acknowledged_message(
    ha: SentinelGroup,  # first, so Redis outlives the product at teardown
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    kill_after_seconds: float,
    failovers: int,
) -> None:
    backend.answerer = tagged
    settings = WorkerProcessSettings(
        bot_token=telegram.token,
        telegram_api_url=telegram.url,
        backend_url=backend.url,
        redis_url="redis://localhost/0",  # with Sentinel: only the database (and credentials)
        redis_sentinels=ha.addresses,
        redis_sentinel_master=MASTER_NAME,
        redis_wait_replicas=1,
        # Longer than a failover (Sentinel's 3 s down-after plus the election): a batch in
        # flight keeps its lease while its worker waits for the new primary (README, HA).
        worker_lease_seconds=15,
        batch_window_seconds=0.5,
        batch_max_wait_seconds=5,
        sweep_interval_seconds=1,
        worker_metrics_port=0,
    )
    await product.start(settings, workers=2)
    rng = random.Random(20261122)
    people = [Person(id=700_000 + n, first_name=f"P{n}") for n in range(PEOPLE)]
    failed_over = asyncio.Event()
    traffic = asyncio.gather(
        *(person(telegram, who, random.Random(rng.random()), failed_over) for who in people)
    )

    await telegram.wait_for_poller()
    await asyncio.sleep(kill_after_seconds)
    primary, promotions = ha.primary, []
    for failover in range(failovers):
        if failover:  # the old primary is a replica again: two replicas to promote from
            await ha.until_settled(replicas=len(ha.replicas))
        primary.kill()
        killed_at = time.monotonic()
        promoted = await ha.until_failed_over(primary)
        promotions.append(time.monotonic() - killed_at)
        primary.start_as_replica_of(promoted.port)  # as a Sentinel-aware supervisor does
        primary = promoted
    failed_over.set()
    total = sum(await traffic)
    await wait_until_all_answered(backend, telegram, total, timeout_seconds=120)
    recovered_at = time.monotonic()
    print(
        f"failovers: replica promoted {', '.join(f'{p:.1f}s' for p in promotions)} after each "
        f"kill; every message answered {recovered_at - killed_at:.1f}s after the last"
    )

    answered = answered_calls(backend, telegram)
    arrivals = answered_messages(answered)
    assert len(arrivals) == total  # no message lost
    assert max(arrivals.values()) == 1  # none answered in two batches
    replies = replies_by_batch(telegram)
    assert set(replies) <= {call.batch_id for call in backend.calls}
    assert max(replies.values()) == 1  # no answer sent twice
    assert product.crashed() == []


async def test_missing_replicas_are_reported_once_and_nothing_is_acknowledged_meanwhile(
    telegram: TelegramStandIn, whatsapp: WhatsAppStandIn, backend: ExampleBackend
) -> None:
    """REDIS_WAIT_REPLICAS=1 and the only replica down: messages are not acknowledged (they
    wait at Telegram; a Meta delivery gets 503 and says why), a batch is not answered,
    /healthz says why, the gauge reads 0, and the bot and a worker each log one line when it
    begins (the worker at its start) and one when it ends, however much happens meanwhile."""
    primary = RedisServer(appendonly=True)
    primary.start()
    replica = RedisServer(appendonly=True, replica_of=primary.port)
    replica.start()
    until_in_sync(replica)  # else the bot's first write can find no replica yet
    port = free_port()
    env = _one_replica_wanted(primary, telegram, whatsapp, backend, port)
    bot = await ChildProcess.launch([sys.executable, "-m", "bot"], env, b"Run polling")
    short_line = b"REDIS_WAIT_REPLICAS=1 but 0 replica(s) confirm writes"
    again_line = b"replicas confirm writes again"
    worker = None
    redis = Redis.from_url(primary.url)
    try:
        ana = Person(id=990_001, first_name="Ana")
        await telegram.person_says(ana, "before")
        await until(lambda: redis.llen(ConversationKeys("990001").batch), 1)
        replica.kill()
        # A worker starting now says so at once; the batch due meanwhile is not answered.
        worker = await ChildProcess.launch([sys.executable, "-m", "worker"], env, short_line)
        during = [f"while the replica is down {n}" for n in range(8)]
        for text in during:
            await telegram.person_says(ana, text)
        await bot.wait_for_log(short_line)
        wanda = WaPerson(wa_id="16505550199", name="Wanda")
        delivery = delivery_json((wanda, text_json(wanda, "hello from WhatsApp")))
        assert await whatsapp.deliver(delivery) == 503  # Meta delivers it again later
        await bot.wait_for_log(b"not stored (Redis took it but its replicas did not confirm")
        await _health_says_replicas_are_short(port)
        # Unacknowledged: Telegram still holds what was fetched, and nobody is answered.
        assert set(during) <= set(telegram.unconfirmed_texts())
        assert telegram.messages_to(ana.id) == []
        replica.start()
        await bot.wait_for_log(again_line)
        await worker.wait_for_log(again_line)
        await _confirmed_at_last(telegram, during)
        async with httpx.AsyncClient() as http:
            assert (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
        assert (await telegram.wait_for_messages(ana.id, 1))[0]  # answered now
    finally:
        await redis.aclose()
        codes = [await bot.stop()] + ([await worker.stop()] if worker is not None else [])
        replica.remove()
        primary.remove()
    assert codes == [0] * len(codes)
    assert worker is not None
    for process in (bot, worker):
        assert process.log.count(short_line) == 1, process.log_tail()
        assert process.log.count(again_line) == 1, process.log_tail()
        assert b"Traceback" not in process.log
    assert b"could not store message" not in bot.log  # no line per message
    assert b"Redis unreachable" not in bot.log  # Redis answered: the cause is the replicas
    assert b"retrying in" not in worker.log  # no line per conversation per retry


async def _confirmed_at_last(telegram: TelegramStandIn, texts: list[str]) -> None:
    """Until the bot has stored these and confirmed them to Telegram."""
    async with asyncio.timeout(30):
        while set(texts) & set(telegram.unconfirmed_texts()):
            await asyncio.sleep(0.05)


async def _health_says_replicas_are_short(port: int) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        down = await http.get("/healthz")
        assert down.status_code == 503
        assert "REDIS_WAIT_REPLICAS=1" in down.json()["problem"]
        scraped = (await http.get("/metrics")).text
    assert "batchbot_redis_replicas_confirming 0.0" in scraped


def _one_replica_wanted(
    primary: RedisServer,
    telegram: TelegramStandIn,
    whatsapp: WhatsAppStandIn,
    backend: ExampleBackend,
    ops_port: int,
) -> dict[str, str]:
    """Bot and worker on ``primary`` with REDIS_WAIT_REPLICAS=1; the bot polls Telegram and
    serves WhatsApp's webhook, giving a delivery up after 1 s."""
    meta_port = free_port()
    whatsapp.webhook_url = f"http://127.0.0.1:{meta_port}/webhook/whatsapp"
    return {
        **os.environ,
        "BOT_TOKEN": telegram.token,
        "TELEGRAM_API_URL": telegram.url,
        "REDIS_URL": primary.url,
        "BACKEND_URL": backend.url,
        "REDIS_WAIT_REPLICAS": "1",
        "BOT_METRICS_PORT": str(ops_port),
        "WORKER_METRICS_PORT": "0",
        "BATCH_WINDOW_SECONDS": "1",
        "WEBHOOK_STORE_TIMEOUT_SECONDS": "1",
        **whatsapp_environment(whatsapp, meta_port),
    }


async def until(read: Callable[[], Awaitable[int]], value: int, seconds: float = 30) -> None:
    async with asyncio.timeout(seconds):
        while await read() < value:
            await asyncio.sleep(0.05)
