"""Fuzzing WhatsApp's webhook with hypothesis: deliveries of every kind, mixed with
malformed messages and bodies that are no delivery at all, POSTed signed to the bot's
real webhook handler on the suite's redis-server. No crash; a body that is not a
delivery gets a clear 400; every well-formed message is stored exactly once, however
often the delivery comes; a malformed one is skipped without taking the rest with it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from bot.intake import StoringIntake
from bot.meta_webhook import configured_webhooks, meta_app
from bot.settings import BotSettings
from channels.meta.signature import signature_of
from sandbox.redis_server import RedisServer
from sandbox.whatsapp_wire import SANDBOX_PHONE_NUMBER_ID, WaPerson, delivery_json
from shared.models import IncomingMessage
from shared.store import BatchStore

FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
SECRET = "fuzz-app-secret"
PEOPLE = [WaPerson("14155550123", "Zoe"), WaPerson("447700900123", "")]

texts = st.text(max_size=200)
media_ids = st.text(alphabet="0123456789", min_size=1, max_size=20)
emoji = st.sampled_from(["👍", "❤️", "", "😂"])
contents: st.SearchStrategy[tuple[str, Any]] = st.one_of(
    st.tuples(st.just("text"), st.fixed_dictionaries({"body": texts})),
    *(
        st.tuples(
            st.just(kind),
            st.fixed_dictionaries(
                {"id": media_ids, "mime_type": st.just("application/octet-stream")},
                optional={"caption": texts, "filename": texts, "sha256": texts},
            ),
        )
        for kind in ("image", "video", "document", "sticker")
    ),
    st.tuples(
        st.just("audio"),
        st.fixed_dictionaries({"id": media_ids}, optional={"voice": st.booleans()}),
    ),
    st.tuples(
        st.just("location"),
        st.fixed_dictionaries(
            {"latitude": st.floats(-90, 90), "longitude": st.floats(-180, 180)},
            optional={"name": texts, "address": texts},
        ),
    ),
    st.tuples(
        st.just("contacts"),
        st.lists(
            st.fixed_dictionaries(
                {"name": st.fixed_dictionaries({"formatted_name": texts})},
                optional={"phones": st.lists(st.fixed_dictionaries({"phone": texts}), max_size=2)},
            ),
            min_size=1,
            max_size=2,
        ),
    ),
    st.tuples(
        st.just("interactive"),
        st.sampled_from(["button_reply", "list_reply"]).flatmap(
            lambda kind: st.fixed_dictionaries(
                {"type": st.just(kind), kind: st.fixed_dictionaries({"id": texts, "title": texts})}
            )
        ),
    ),
    st.tuples(st.just("button"), st.fixed_dictionaries({"text": texts, "payload": texts})),
    st.tuples(
        st.just("reaction"), st.fixed_dictionaries({"message_id": media_ids, "emoji": emoji})
    ),
    st.tuples(
        st.just("order"),
        st.fixed_dictionaries(
            {
                "catalog_id": media_ids,
                "product_items": st.lists(
                    st.fixed_dictionaries(
                        {"product_retailer_id": texts, "quantity": st.integers(1, 99)},
                        optional={"item_price": st.floats(0, 1e6), "currency": texts},
                    ),
                    min_size=1,
                    max_size=3,
                ),
            },
            optional={"text": texts},
        ),
    ),
    # A type Meta adds later is kept as kind 'other' with its name.
    st.tuples(st.sampled_from(["unsupported", "unknown", "poll_creation"]), st.just({})),
)
broken: st.SearchStrategy[dict[str, Any]] = st.sampled_from(
    [
        {"type": "text", "text": {"body": "no id or sender"}},
        {"from": "14155550123", "type": "text", "text": {"body": "no id"}},
        {"id": "wamid.NOSENDER", "timestamp": "1", "type": "text", "text": {"body": "x"}},
        {"from": "14155550123", "id": "wamid.BADTIME", "timestamp": "soon", "type": "text"},
        {"from": "14155550123", "id": "wamid.NOBODY", "timestamp": "1", "type": "text"},
        {"from": "14155550123", "id": 'wamid."quoted"', "timestamp": "1", "type": "text"},
        {"from": "14155550123", "id": "wamid.X", "timestamp": "1", "type": "image", "image": []},
        {
            "from": "14155550123",
            "id": "wamid.NOCART",
            "timestamp": "1",
            "type": "order",
            "order": {},
        },
        # Not from the person: left out on purpose.
        {
            "from": "14155550123",
            "id": "wamid.SYS",
            "timestamp": "1",
            "type": "system",
            "system": {},
        },
    ]
)
not_deliveries = st.one_of(
    st.binary(max_size=100).filter(lambda raw: not raw.strip().startswith(b"{")),
    st.just(b'{"object": "page", "entry": []}'),
    st.just(b'{"object": "whatsapp_business_account"}'),
    st.just(b'{"object": "whatsapp_business_account", "entry": {"changes": []}}'),
    st.dictionaries(st.text(max_size=8), st.integers(), max_size=3).map(
        lambda value: json.dumps(value).encode()
    ),
)


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[bytes, set[str]]:
    """A delivery of well-formed and broken messages; returns it and the good ids."""
    good: list[tuple[WaPerson, dict[str, Any]]] = []
    for index, (kind, content) in enumerate(draw(st.lists(contents, min_size=1, max_size=6))):
        person = draw(st.sampled_from(PEOPLE))
        wamid = f"wamid.FUZZ{draw(st.integers(0, 10**9))}x{index}"
        message = {"from": person.wa_id, "id": wamid, "timestamp": "1795000000", "type": kind}
        good.append((person, {**message, kind: content}))
    bad: list[tuple[WaPerson, dict[str, Any]]] = [
        (PEOPLE[0], message) for message in draw(st.lists(broken, max_size=2))
    ]
    mixed: list[tuple[WaPerson, dict[str, Any]]] = draw(st.permutations(good + bad))
    body = delivery_json(*mixed)
    return json.dumps(body).encode(), {message["id"] for _, message in good}


async def post_twice(redis_server: RedisServer, body: bytes) -> tuple[list[int], list[str]]:
    """The statuses of two identical signed POSTs, and every message id stored."""
    redis = Redis.from_url(redis_server.url)
    await redis.flushall()
    bot_settings = BotSettings(
        redis_url=redis_server.url,
        whatsapp_access_token="EAAG-fuzz-token",
        whatsapp_app_secret=SECRET,
        whatsapp_verify_token="fuzz-verify",
        whatsapp_phone_number_id=SANDBOX_PHONE_NUMBER_ID,
        batch_window_seconds=600,
        batch_max_wait_seconds=600,
        batch_max_messages=1000,
    )
    [webhook] = configured_webhooks(
        StoringIntake.of(BatchStore(redis, 86400), bot_settings), bot_settings
    )
    headers = {"X-Hub-Signature-256": signature_of(SECRET, body)}
    async with TestClient(TestServer(meta_app([webhook]))) as client:
        statuses = []
        for _ in range(2):
            response = await client.post("/webhook/whatsapp", data=body, headers=headers)
            statuses.append(response.status)
            if response.status == 400:
                assert "not a WhatsApp webhook delivery" in await response.text()
    stored: list[str] = []
    async for key in redis.scan_iter(match="batch:*"):
        for raw in await redis.lrange(key, 0, -1):
            stored.append(str(IncomingMessage.model_validate_json(raw).message_id))
    await redis.aclose()
    return statuses, stored


@FUZZ
@given(delivery=deliveries())
def test_every_well_formed_message_is_stored_once_and_broken_ones_are_skipped(
    redis_server: RedisServer, delivery: tuple[bytes, set[str]]
) -> None:
    body, good_ids = delivery
    statuses, stored = asyncio.run(post_twice(redis_server, body))
    assert statuses == [200, 200]
    assert sorted(stored) == sorted(good_ids)


@FUZZ
@given(body=not_deliveries)
def test_a_body_that_is_not_a_delivery_is_a_clear_400_and_stores_nothing(
    redis_server: RedisServer, body: bytes
) -> None:
    statuses, stored = asyncio.run(post_twice(redis_server, body))
    assert statuses == [400, 400]
    assert stored == []
