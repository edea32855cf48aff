"""Proactive messages: sent by the backend unasked, never inside a multi-part answer."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from batchctl.console_state import console_state
from channels.telegram.proactive import send_proactive
from sandbox.example_backend import ExampleBackend
from sandbox.redis_server import RedisServer
from sandbox.telegram_api import ForcedError, Person, TelegramStandIn
from shared.models import BatchRequest, BatchResponse, OutgoingMessage
from tests.conftest import (
    Product,
    SettingsFactory,
    launch_polling_bot,
    run_batchctl,
    wait_until_idle,
)

MAX = Person(id=4404, first_name="Max")
TOKEN = "proactive-token-0123456789"
PARTS = ["part one", "part two", "part three"]


async def three_parts(request: BatchRequest) -> BatchResponse:
    return BatchResponse(messages=[OutgoingMessage(text=text) for text in PARTS])


@pytest.fixture
async def bot_with_endpoint(
    redis_server: RedisServer, telegram: TelegramStandIn, redis: Redis
) -> AsyncIterator[str]:
    """``python -m bot`` with PROACTIVE_TOKEN: the endpoint's URL."""
    bot, port = await launch_polling_bot(
        redis_server.url, telegram, PROACTIVE_TOKEN=TOKEN, BATCH_WINDOW_SECONDS="0.5"
    )
    yield f"http://127.0.0.1:{port}/proactive"
    assert await bot.stop() == 0


async def post(url: str, body: object, token: str = TOKEN) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.post(url, json=body, headers={"Authorization": f"Bearer {token}"})


async def test_a_proactive_message_waits_for_the_answer_in_progress(
    bot_with_endpoint: str,
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    backend.answerer = three_parts
    await product.start_workers(make_settings(reply_pacing_max_seconds=0))
    held = telegram.hold("sendMessage", after_calls=1)  # part two waits at Telegram
    await telegram.person_says(MAX, "hi")
    await held.arrived.wait()

    response = await post(bot_with_endpoint, {"chat_id": MAX.id, "messages": [{"text": "ping"}]})
    assert response.status_code == 202
    assert response.json() == {"queued": 1, "scheduling": "behind-batch"}
    held.release()
    await telegram.wait_for_messages(MAX.id, 4)
    await wait_until_idle(redis)
    assert telegram.messages_to(MAX.id) == [*PARTS, "ping"]

    # With nothing in progress it goes at once; the Python function does the same.
    await send_proactive(redis, MAX.id, [OutgoingMessage(text="your table is ready")])
    assert (await telegram.wait_for_messages(MAX.id, 5))[-1] == "your table is ready"


async def test_the_endpoint_refuses_wrong_tokens_and_bad_bodies(
    bot_with_endpoint: str, redis: Redis
) -> None:
    wrong = await post(bot_with_endpoint, {"chat_id": 1, "messages": [{"text": "x"}]}, "nope")
    assert wrong.status_code == 401
    empty = await post(bot_with_endpoint, {"chat_id": 1, "messages": [{}]})
    assert empty.status_code == 400
    assert "needs text, a photo, or both" in empty.text
    group = await post(bot_with_endpoint, {"chat_id": -100, "messages": [{"text": "x"}]})
    assert group.status_code == 400
    assert "needs user_id" in group.text
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient() as http:
        not_json = await http.post(bot_with_endpoint, content=b"chat_id=1", headers=headers)
        nothing = await http.post(bot_with_endpoint, content=b"", headers=headers)
    assert (not_json.status_code, nothing.status_code) == (400, 400)
    assert "the body is not JSON" in not_json.json()["error"]
    assert "the body is empty" in nothing.json()["error"]
    assert await redis.keys("outbox:*") == []


async def test_a_proactive_message_that_cannot_be_delivered_is_reported_not_counted_as_sent(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    redis: Redis,
    redis_server: RedisServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    labels = {"channel": "telegram", "outcome": "undeliverable"}
    before = REGISTRY.get_sample_value("batchbot_proactive_messages_total", labels) or 0.0
    await product.start_workers(make_settings())
    telegram.fail_next("sendMessage", ForcedError(403, "Forbidden: bot was blocked by the user"))
    await send_proactive(redis, MAX.id, [OutgoingMessage(text="your table is ready")])
    await send_proactive(redis, MAX.id, [OutgoingMessage(text="and it has a view")])
    await telegram.wait_for_messages(MAX.id, 1)
    await wait_until_idle(redis)

    assert telegram.messages_to(MAX.id) == ["and it has a view"]
    assert REGISTRY.get_sample_value("batchbot_proactive_messages_total", labels) == before + 1
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert f"proactive message for {MAX.id} not delivered" in logged
    assert "1 proactive message(s) NOT delivered" in logged
    assert "2 proactive message(s) sent" not in logged

    state = await console_state(redis)
    assert state["undelivered"]["total"] == 1
    [entry] = state["undelivered"]["newest"]
    assert entry["conversation"] == str(MAX.id)
    assert entry["message"] == {"text": "your table is ready"}
    assert "blocked" in entry["reason"]
    listed = await run_batchctl(redis_server.url, "undelivered")
    assert f"conversation {MAX.id}  'your table is ready'" in listed
    assert "blocked by the user" in listed and "1 undelivered proactive message(s)" in listed
