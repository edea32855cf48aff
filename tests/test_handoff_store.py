"""The takeover's atomic rules in the store's Lua, step by step against a real
redis-server: whatever order a human's message, a claim, an answer and a send come in,
nothing is answered after the human spoke."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from shared import arq_layout
from shared.claimed import Abandoned, ClaimedBatch
from shared.handoff import Handoffs, held_turns
from shared.history import HistoryRules
from shared.keys import ConversationKeys
from shared.leases import BatchLeases
from shared.models import BatchResponse, Chat, IncomingMessage, MessageKind, User
from shared.rules import BatchingRules
from shared.states import ClaimState, Scheduling
from shared.store import BatchStore

DAY = 86400
RULES = BatchingRules(
    window_ms=0,
    max_wait_ms=60_000,
    max_messages=10,
    max_pending_messages=200,
    max_pending_bytes=1_048_576,
    max_message_bytes=65_536,
)
CHAT, USER = Chat(id=77, type="private"), User(id=77, first_name="Ana")
KEYS = ConversationKeys("77")


def text(message_id: int, words: str) -> IncomingMessage:
    return IncomingMessage(
        message_id=message_id, date=datetime.now(UTC), kind=MessageKind.TEXT, text=words
    )


@pytest.fixture
def store(redis: Redis) -> BatchStore:
    return BatchStore(redis, 7 * DAY)


@pytest.fixture
def handoffs(redis: Redis) -> Handoffs:
    return Handoffs(redis, 7 * DAY)


async def claim(store: BatchStore) -> ClaimedBatch | None:
    outcome = await store.claim("77", max_messages=10, recheck_after_ms=70_000, lease_ms=60_000)
    return outcome.batch


async def test_pending_messages_are_held_and_the_job_waits_for_the_pause_to_end(
    store: BatchStore, handoffs: Handoffs, redis: Redis
) -> None:
    await store.append("77", CHAT, USER, text(1, "hi"), RULES)
    taken = await handoffs.take_over("77", "api", 60, "Sam here")
    assert (taken.claimed, taken.held) == ("none", 1)
    assert await redis.llen(KEYS.batch) == 0  # type: ignore[misc]
    job = arq_layout.batch_job_id("77")
    assert await redis.zscore(arq_layout.QUEUE, job) == taken.until_ms
    later = await store.append("77", CHAT, USER, text(2, "thanks"), RULES)
    assert later.scheduling is Scheduling.HELD and later.pending == 3
    # The pause is the handoff key's TTL; what was held outlives it by the days-long net.
    assert 59 <= await redis.ttl(KEYS.handoff) <= 60
    assert await redis.ttl(KEYS.held) >= 7 * DAY + 59
    outcome = await store.claim("77", max_messages=10, recheck_after_ms=70_000, lease_ms=60_000)
    assert (outcome.state, outcome.deadline_ms) == (ClaimState.PAUSED, taken.until_ms)

    assert await handoffs.resume("77")
    over = await store.claim("77", max_messages=10, recheck_after_ms=70_000, lease_ms=60_000)
    assert over.state is ClaimState.PAUSE_OVER
    turns = held_turns(over.held)
    assert [(t.role, t.by, t.text) for t in turns] == [
        ("user", None, "hi"),
        ("assistant", "human", "Sam here"),
        ("user", None, "thanks"),
    ]
    history = HistoryRules(turns=10, max_bytes=32_768, ttl_seconds=DAY)
    assert await handoffs.hand_on("77", over.held, history)
    assert await redis.llen(KEYS.held) == 0  # type: ignore[misc]
    assert await redis.llen(KEYS.history) == 3  # type: ignore[misc]
    assert (await claim(store)) is None  # nothing left to answer


async def test_a_takeover_between_claim_and_answer_abandons_the_batch(
    store: BatchStore, handoffs: Handoffs, redis: Redis
) -> None:
    await store.append("77", CHAT, USER, text(1, "cancel it"), RULES)
    batch = await claim(store)
    assert batch is not None
    taken = await handoffs.take_over("77", "owner", 60, "done, cancelled")
    assert (taken.claimed, taken.held) == ("abandoned", 1)
    with pytest.raises(Abandoned, match="handed over"):
        await store.save_answer(batch, BatchResponse(messages=[]))
    assert await BatchLeases(redis, 7 * DAY).begin_part(batch, 1) == "handed_over"
    with pytest.raises(Abandoned):
        await store.release(batch)
    assert not await redis.exists(KEYS.inflight)
    assert [item.count(b"cancel it") for item in await redis.lrange(KEYS.held, 0, -1)] == [1, 0]  # type: ignore[misc]


async def test_once_a_part_is_going_a_takeover_stops_the_rest_only(
    store: BatchStore, handoffs: Handoffs, redis: Redis
) -> None:
    leases = BatchLeases(redis, 7 * DAY)
    await store.append("77", CHAT, USER, text(1, "tell me everything"), RULES)
    batch = await claim(store)
    assert batch is not None
    assert await store.save_answer(batch, BatchResponse(messages=[]))
    assert await leases.begin_part(batch, 1) == "go"
    taken = await handoffs.take_over("77", "owner", 60)
    assert (taken.claimed, taken.held) == ("halted", 0)
    assert await store.mark_sent(batch, 1)  # the part that went is recorded
    assert await leases.begin_part(batch, 2) == "handed_over"
    assert await store.release(batch)  # answered as far as it got


async def test_a_batch_claimed_by_an_older_version_is_held_whole_and_never_superseded(
    store: BatchStore, handoffs: Handoffs, redis: Redis
) -> None:
    """Before supersede, a claim joined its messages with ',' alone; such a batch is not
    split, and a takeover hands it to the human as one item."""
    for message_id, words in ((1, "a"), (2, "b")):
        await store.append("77", CHAT, USER, text(message_id, words), RULES)
    batch = await claim(store)
    assert batch is not None
    joined = await redis.hget(KEYS.inflight, "messages")  # type: ignore[misc]
    await redis.hset(KEYS.inflight, "messages", joined.replace(b",\n", b","))  # type: ignore[misc]
    superseding = dataclasses.replace(RULES, window_ms=1000)
    later = await store.append("77", CHAT, USER, text(3, "c"), superseding)
    assert later.scheduling is Scheduling.BEHIND_RUNNING
    await redis.delete(KEYS.batch)
    taken = await handoffs.take_over("77", "api", 60)
    assert (taken.claimed, taken.held) == ("abandoned", 1)
    turns = held_turns([item.decode() for item in await redis.lrange(KEYS.held, 0, -1)])  # type: ignore[misc]
    assert [t.text for t in turns] == ["a\nb"]
