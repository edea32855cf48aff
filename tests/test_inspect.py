"""``python -m batchctl inspect``: what an operator sees of pending and in-flight batches."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

from redis.asyncio import Redis

from sandbox.example_backend import ExampleBackend
from sandbox.redis_server import RedisServer
from sandbox.telegram_api import Person, TelegramStandIn
from shared.handoff import Handoffs
from shared.keys import PENDING_INDEX
from shared.models import BatchRequest, BatchResponse, OutgoingMessage
from tests.conftest import Product, SettingsFactory

ABE = Person(id=8101, first_name="Abe")
BEA = Person(id=8102, first_name="Bea")
CAL = Person(id=8103, first_name="Cal")
GROUP = -100555


def inspect(redis_server: RedisServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "batchctl", "inspect", *args],
        env={**os.environ, "REDIS_URL": redis_server.url},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


async def test_inspect_shows_pending_in_flight_and_one_conversation_in_full(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
    redis_server: RedisServer,
) -> None:
    backend_may_answer = asyncio.Event()

    async def slow(request: BatchRequest) -> BatchResponse:
        await backend_may_answer.wait()
        return BatchResponse(messages=[OutgoingMessage(text="done")])

    backend.answerer = slow
    # A long window keeps Bea's and Cal's messages pending; two messages make Abe's
    # batch full, so it goes at once and waits at the backend: in flight.
    settings = make_settings(batch_window_seconds=30, batch_max_wait_seconds=60)
    settings = settings.model_copy(update={"batch_max_messages": 2})
    await product.start(settings)

    await telegram.person_says(ABE, "one")
    await telegram.person_says(ABE, "two")
    await backend.wait_for_received(1)
    await telegram.person_says(BEA, "are you open on sunday?")
    await telegram.person_says(CAL, "hello group", chat_id=GROUP, chat_type="supergroup")
    async with asyncio.timeout(30):
        while await redis.zcard(PENDING_INDEX) < 3:
            await asyncio.sleep(0.02)

    await Handoffs(redis, 3600).take_over(f"{GROUP}:{CAL.id}", "api", 600)  # Cal's is a human's
    listing = await asyncio.to_thread(inspect, redis_server)
    bea_detail = await asyncio.to_thread(inspect, redis_server, str(BEA.id))
    unknown = await asyncio.to_thread(inspect, redis_server, "424242")
    backend_may_answer.set()
    await telegram.wait_for_messages(ABE.id, 1)

    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert lines[0] == "3 conversation(s) with pending or claimed messages"
    [abe] = [line for line in lines if line.strip().startswith(f"telegram {ABE.id} ")]
    [batch_id] = [call.batch_id for call in backend.received]
    assert f"in flight: batch {batch_id}, 0 part(s) sent" in abe
    [bea] = [line for line in lines if line.strip().startswith(f"telegram {BEA.id} ")]
    columns = bea.split()
    assert columns[2] == "in"  # due in the future: "in 29.9s"
    assert columns[4] == "1"  # one message pending
    assert "waiting; job queued" in bea
    [cal] = [line for line in lines if line.strip().startswith(f"telegram {GROUP}:{CAL.id} ")]
    assert "taken over (api) until 20" in cal and cal.endswith(", 1 held")
    assert "waiting" not in cal and "job queued" not in cal
    assert "1 batch(es) in flight" in lines
    assert "0 dead letter(s) (see: dead-letters list)" in lines

    assert bea_detail.returncode == 0, bea_detail.stderr
    detail = json.loads(bea_detail.stdout)
    assert [m["text"] for m in detail["pending"]] == ["are you open on sunday?"]
    assert detail["channel"] == "telegram"
    assert detail["batch_info"]["user"]["first_name"] == "Bea"
    assert detail["job"]["id"] == f"batch:{BEA.id}"
    deadline = int(detail["batch_info"]["deadline"])
    assert detail["job"]["run_at_ms"] == deadline == detail["next_step_ms"]
    assert detail["in_flight"] == {}

    assert unknown.returncode == 1
    assert "nothing stored for conversation '424242'" in unknown.stderr
