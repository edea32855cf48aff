"""Redis high availability: the primary SIGKILLed mid-traffic (once, and twice in a row
with the old primary restarted as a replica between), Sentinel promotes a replica, and
with REDIS_WAIT_REPLICAS=1 and two replicas writes keep flowing: no acknowledged message
is lost or doubled."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import AsyncIterator

import pytest

from sandbox.example_backend import ExampleBackend, summarise
from sandbox.redis_sentinel import MASTER_NAME, SentinelGroup
from sandbox.telegram_api import Person, TelegramStandIn
from shared.models import BatchRequest, BatchResponse, OutgoingMessage
from tests.conftest import Product
from worker.settings import WorkerProcessSettings

PEOPLE = 50
BURSTS = 3
BURST = 3


async def tagged(request: BatchRequest) -> BatchResponse:
    """One reply per batch, carrying the batch id, so a reply sent twice is recognised."""
    text = summarise(request).messages[0].text
    return BatchResponse(messages=[OutgoingMessage(text=f"[{request.batch_id}] {text}")])


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
    await backend.wait_for_answered_messages(total, timeout_seconds=120)
    await telegram.wait_for_sent(len(backend.calls), timeout_seconds=60)
    recovered_at = time.monotonic()
    print(
        f"failovers: replica promoted {', '.join(f'{p:.1f}s' for p in promotions)} after each "
        f"kill; every message answered {recovered_at - killed_at:.1f}s after the last"
    )

    arrivals = Counter(
        (c.request.user.id, m.message_id) for c in backend.calls for m in c.request.messages
    )
    assert len(arrivals) == total  # no message lost
    assert max(arrivals.values()) == 1  # none in two batches
    replies = Counter(message.text.split("]", 1)[0] for message in telegram.sent)
    assert sorted(replies) == sorted(f"[{call.batch_id}" for call in backend.calls)  # one each
    assert max(replies.values()) == 1
    assert product.crashed() == []
