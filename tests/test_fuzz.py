"""Fuzzing with hypothesis: whatever Telegram or the backend sends, batchbot neither
crashes nor loses a message."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from aiogram.types import Update
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from backend_client import BackendClient, PermanentBackendError, RetryableBackendError
from channels.telegram import normalise
from sandbox.redis_server import RedisServer
from shared.models import BatchRequest, BatchResponse, Chat, IncomingMessage, User
from shared.rules import BatchingRules
from shared.store import BatchStore

FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
RULES = BatchingRules(
    window_ms=0,
    max_wait_ms=1000,
    max_messages=100,
    max_pending_messages=1000,
    max_pending_bytes=10_000_000,
    max_message_bytes=1_000_000,
)

texts = st.text(max_size=300) | st.text(min_size=4000, max_size=5000)
file_ids = st.text(alphabet="ABCDEFGHIJabcdef0123456789-_", min_size=1, max_size=40)
photo_sizes = st.lists(
    st.fixed_dictionaries(
        {
            "file_id": file_ids,
            "file_unique_id": file_ids,
            "width": st.integers(1, 5000),
            "height": st.integers(1, 5000),
        }
    ),
    min_size=1,
    max_size=4,
)
contents = st.one_of(
    st.fixed_dictionaries({"text": texts}),
    st.fixed_dictionaries({"photo": photo_sizes}, optional={"caption": texts}),
    st.fixed_dictionaries(
        {"document": st.fixed_dictionaries({"file_id": file_ids, "file_unique_id": file_ids})},
        optional={"caption": texts, "media_group_id": file_ids},
    ),
    st.fixed_dictionaries(
        {
            "location": st.fixed_dictionaries(
                {"latitude": st.floats(-90, 90), "longitude": st.floats(-180, 180)}
            )
        }
    ),
    st.fixed_dictionaries(
        {
            "contact": st.fixed_dictionaries(
                {
                    "phone_number": st.text(max_size=20),
                    "first_name": st.text(min_size=1, max_size=30),
                }
            )
        }
    ),
    st.fixed_dictionaries(
        {"dice": st.fixed_dictionaries({"emoji": st.just("🎲"), "value": st.integers(1, 6)})}
    ),
    st.just({}),
)


def message_update(message_id: int, content: dict[str, Any], user_id: int) -> dict[str, Any]:
    return {
        "update_id": message_id,
        "message": {
            "message_id": message_id,
            "date": 1_795_000_000,
            "chat": {"id": user_id, "type": "private"},
            "from": {"id": user_id, "is_bot": False, "first_name": "Fuzz"},
            **content,
        },
    }


@FUZZ
@given(burst=st.lists(contents, min_size=1, max_size=6))
def test_any_burst_of_messages_is_stored_and_claimed_whole(
    redis_server: RedisServer, burst: list[dict[str, Any]]
) -> None:
    async def check() -> None:
        redis = Redis.from_url(redis_server.url)
        await redis.flushall()
        store = BatchStore(redis, 7 * 86400)
        expected: list[IncomingMessage] = []
        for message_id, content in enumerate(burst, start=1):
            update = Update.model_validate(message_update(message_id, content, 42))
            assert update.message is not None
            incoming = normalise(update.message)
            expected.append(incoming)
            result = await store.append(
                "42", Chat(id=42, type="private"), User(id=42, first_name="Fuzz"), incoming, RULES
            )
            assert result.refused is None and not result.duplicate
        outcome = await store.claim(
            "42", max_messages=100, recheck_after_ms=60_000, lease_ms=60_000
        )
        assert outcome.batch is not None
        assert outcome.batch.request.messages == expected
        words = [m.words() for m in expected if m.words()]
        assert outcome.batch.request.text == "\n".join(w for w in words if w)
        BatchRequest.model_validate_json(outcome.batch.request.model_dump_json())
        await redis.aclose()

    asyncio.run(check())


junk = st.dictionaries(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12).map("x_".__add__),
    st.none() | st.integers() | st.text(max_size=20),
    max_size=3,
)
"""Fields Telegram may add tomorrow: a message carrying them is still a message."""


def _expected(message_id: int, content: dict[str, Any]) -> dict[str, Any]:
    """What ``normalise`` must make of one message with this content (the contract)."""
    fields: dict[str, Any] = {"message_id": message_id, "caption": content.get("caption")}
    if "text" in content:
        return {**fields, "kind": "text", "text": content["text"]}
    if "photo" in content:
        largest = max(content["photo"], key=lambda size: size["width"] * size["height"])
        return {**fields, "kind": "photo", "file_id": largest["file_id"]}
    if "document" in content:
        file_id = content["document"]["file_id"]
        media_group_id = content.get("media_group_id")
        return {**fields, "kind": "document", "file_id": file_id, "media_group_id": media_group_id}
    if "location" in content:
        place = content["location"]
        where = {"latitude": place["latitude"], "longitude": place["longitude"]}
        return {**fields, "kind": "location", "location": where}
    if "contact" in content:
        card = content["contact"]
        said = {"phone_number": card["phone_number"], "first_name": card["first_name"]}
        return {**fields, "kind": "contact", "contact": said}
    return {**fields, "kind": "other"}


@FUZZ
@given(
    message_id=st.integers(1, 2**31 - 1),
    content=contents,
    extra=junk,
    extra_update=junk,
)
def test_any_message_update_is_normalised_to_what_it_says(
    message_id: int, content: dict[str, Any], extra: dict[str, Any], extra_update: dict[str, Any]
) -> None:
    """Every example is a message update (with fields we do not know, at both levels):
    aiogram takes it, and ``normalise`` keeps its id, date, kind and what it carries."""
    raw = message_update(message_id, content, 42)
    raw["message"].update(extra)
    parsed = Update.model_validate({**raw, **extra_update})
    assert parsed.message is not None
    got = normalise(parsed.message)
    assert got.date == datetime.fromtimestamp(1_795_000_000, UTC)
    dumped = got.model_dump(mode="json", exclude_none=True)
    for field, value in _expected(message_id, content).items():
        if field in ("location", "contact"):
            assert {k: dumped[field][k] for k in value} == value
        else:
            assert dumped.get(field) == value, (field, dumped)
    assert IncomingMessage.model_validate_json(got.model_dump_json()) == got


async def answer_with(status: int, body: bytes) -> BatchResponse | Exception:
    async def reply(request: web.Request) -> web.Response:
        return web.Response(status=status, body=body, content_type="application/json")

    app = web.Application()
    app.router.add_post("/batch", reply)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    client = BackendClient(f"http://127.0.0.1:{runner.addresses[0][1]}/batch", 5)
    request = BatchRequest.build(
        "fuzz", Chat(id=1, type="private"), User(id=1, first_name="F"),
        [IncomingMessage.model_validate({"message_id": 1, "date": "2026-11-22T10:00:00Z",
                                         "kind": "text", "text": "hi"})],
    )  # fmt: skip
    try:
        return await client.answer(request)
    except (RetryableBackendError, PermanentBackendError) as error:
        return error
    finally:
        await client.aclose()
        await runner.cleanup()


def reply_body(texts: list[str]) -> bytes:
    return json.dumps({"messages": [{"text": text} for text in texts]}).encode()


json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


@FUZZ
@given(
    status=st.sampled_from([200, 200, 200, 201, 204, 400, 404, 422, 429, 500, 502, 503]),
    body=st.one_of(
        st.binary(max_size=200),
        json_like.map(lambda value: json.dumps(value).encode()),
        st.lists(st.text(max_size=50)).map(reply_body),
    ),
)
def test_any_backend_answer_is_a_response_or_a_classified_error(status: int, body: bytes) -> None:
    outcome = asyncio.run(answer_with(status, body))
    if isinstance(outcome, BatchResponse):
        assert status == 200
        assert all(message.text for message in outcome.messages)
    elif status >= 500 or status == 429:
        assert isinstance(outcome, RetryableBackendError)
    else:
        assert isinstance(outcome, PermanentBackendError)
        assert str(status) in str(outcome)


@pytest.mark.parametrize("body", [b"<html>oops</html>", b"", b'{"messages": "no"}'])
def test_a_200_that_breaks_the_contract_is_permanent(body: bytes) -> None:
    assert isinstance(asyncio.run(answer_with(200, body)), PermanentBackendError)
