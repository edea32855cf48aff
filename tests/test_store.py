"""The Lua protocol against a real Redis, one step at a time (no workers running)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from sandbox.peek import pending_count, pending_messages
from shared import arq_layout
from shared.claimed import Abandoned
from shared.keys import PENDING_INDEX, ConversationKeys
from shared.leases import BatchLeases
from shared.models import BatchResponse, Chat, IncomingMessage, MessageKind, OutgoingMessage, User
from shared.rules import BatchingRules
from shared.states import Scheduling
from shared.store import BatchStore

CHAT = Chat(id=77, type="private")
USER = User(id=77, first_name="Bo")
KEYS = ConversationKeys("77")
JOB = arq_layout.batch_job_id("77")
DAY = 86400
RULES = BatchingRules(
    window_ms=1000,
    max_wait_ms=60_000,
    max_messages=10,
    max_pending_messages=200,
    max_pending_bytes=1_048_576,
    max_message_bytes=65_536,
    supersede=False,  # these tests are of the pending list; supersede has its own below
)


def rules(**changes: int) -> BatchingRules:
    return dataclasses.replace(RULES, **changes)  # type: ignore[arg-type]


def text(message_id: int, words: str = "hi") -> IncomingMessage:
    return IncomingMessage(
        message_id=message_id, date=datetime.now(UTC), kind=MessageKind.TEXT, text=words
    )


async def append(store: BatchStore, message_id: int, **changes: int) -> int:
    result = await store.append("77", CHAT, USER, text(message_id), rules(**changes))
    return result.deadline_ms - result.now_ms


async def test_append_creates_then_moves_one_job(redis: Redis) -> None:
    store = BatchStore(redis, 7 * DAY)
    first = await store.append(
        "77",
        CHAT,
        USER,
        text(1),
        rules(window_ms=1000, max_wait_ms=5000, max_messages=10),
    )
    assert first.scheduling is Scheduling.CREATED
    second = await store.append(
        "77",
        CHAT,
        USER,
        text(2),
        rules(window_ms=1000, max_wait_ms=5000, max_messages=10),
    )
    assert second.scheduling is Scheduling.MOVED
    assert await redis.zscore(arq_layout.QUEUE, JOB) == second.deadline_ms
    assert await redis.zscore(PENDING_INDEX, "77") == second.deadline_ms
    assert await redis.zcard(arq_layout.QUEUE) == 1


async def test_deadline_rules(redis: Redis) -> None:
    store = BatchStore(redis, 7 * DAY)
    assert await append(store, 1, window_ms=1000, max_wait_ms=1500) == 1000
    # max wait caps the debounce: first + 1.5 s, whatever the window says
    assert 0 < await append(store, 2, window_ms=1000, max_wait_ms=1500) <= 1500
    await redis.flushall()
    await append(store, 1, max_messages=2)
    assert await append(store, 2, max_messages=2) == 0


async def test_every_key_has_a_safety_ttl_of_days(redis: Redis) -> None:
    store = BatchStore(redis, 7 * DAY)
    await append(store, 1, window_ms=0)
    for key in (KEYS.batch, KEYS.info, arq_layout.job_key(JOB)):
        assert await redis.ttl(key) > 6 * DAY, key
    outcome = await store.claim("77", max_messages=10, recheck_after_ms=70_000, lease_ms=60_000)
    assert outcome.batch is not None
    assert await redis.ttl(KEYS.inflight) > 6 * DAY
    assert await redis.ttl(KEYS.info) > 6 * DAY  # its recent message ids stay


async def test_a_rerun_gets_the_same_batch_with_its_answer_and_progress(redis: Redis) -> None:
    store = BatchStore(redis, 7 * DAY)
    await append(store, 1, window_ms=0)
    await append(store, 2, window_ms=0)
    first = await store.claim("77", max_messages=10, recheck_after_ms=70_000, lease_ms=60_000)
    assert first.batch is not None and not first.batch.resumed
    answer = BatchResponse(messages=[OutgoingMessage(text="one"), OutgoingMessage(text="two")])
    assert await store.save_answer(first.batch, answer)
    assert await store.mark_sent(first.batch, 1)
    await append(store, 3, window_ms=0)  # arrives while the batch is claimed

    again = await store.claim("77", max_messages=10, recheck_after_ms=70_000, lease_ms=60_000)
    assert again.batch is not None and again.batch.resumed
    assert again.batch.batch_id == first.batch.batch_id
    assert [m.message_id for m in again.batch.request.messages] == [1, 2]
    assert again.batch.answer == answer
    assert again.batch.sent == 1


async def test_a_worker_that_lost_its_claim_cannot_touch_the_next_batch(redis: Redis) -> None:
    store = BatchStore(redis, 7 * DAY)
    await append(store, 1, window_ms=0)
    stale = (
        await store.claim("77", max_messages=10, recheck_after_ms=70_000, lease_ms=60_000)
    ).batch
    assert stale is not None
    assert await store.release(stale)
    await append(store, 2, window_ms=0)
    current = (
        await store.claim("77", max_messages=10, recheck_after_ms=70_000, lease_ms=60_000)
    ).batch
    assert current is not None
    assert not await store.mark_sent(stale, 1)
    assert not await store.release(stale)
    assert await redis.exists(KEYS.inflight)


async def test_a_redelivered_message_is_dropped_even_after_its_batch_was_answered(
    redis: Redis,
) -> None:
    store = BatchStore(redis, 7 * DAY)
    await append(store, 1, window_ms=0)
    batch = (
        await store.claim("77", max_messages=10, recheck_after_ms=70_000, lease_ms=60_000)
    ).batch
    assert batch is not None
    await store.release(batch)
    redelivered = await store.append(
        "77",
        CHAT,
        USER,
        text(1),
        rules(window_ms=0, max_wait_ms=1000, max_messages=10),
    )
    assert redelivered.duplicate
    assert await pending_count(redis, "77") == 0


async def test_a_job_that_starts_before_a_moved_deadline_claims_nothing(redis: Redis) -> None:
    store = BatchStore(redis, 7 * DAY)
    await append(store, 1, window_ms=30_000)
    outcome = await store.claim("77", max_messages=10, recheck_after_ms=70_000, lease_ms=60_000)
    assert outcome.state == "not-due"
    assert await pending_count(redis, "77") == 1
    # ARQ removes the job it ran (and its lock); the job's end puts it back at the deadline.
    await redis.delete(arq_layout.job_key(JOB), arq_layout.in_progress_key(JOB))
    await redis.zrem(arq_layout.QUEUE, JOB)
    state, run_at = await store.schedule("77")
    assert (state, run_at) == ("scheduled", outcome.deadline_ms)
    assert await redis.zscore(arq_layout.QUEUE, JOB) == outcome.deadline_ms


async def test_more_than_max_messages_leaves_the_rest_due_at_once(redis: Redis) -> None:
    store = BatchStore(redis, 7 * DAY)
    await append(store, 1, window_ms=0)
    running = (
        await store.claim("77", max_messages=2, recheck_after_ms=70_000, lease_ms=60_000)
    ).batch
    assert running is not None
    for message_id in (2, 3, 4):  # arrive while the batch is at the backend
        await append(store, message_id, window_ms=5000, max_messages=2)
    await store.release(running)
    first = (
        await store.claim("77", max_messages=2, recheck_after_ms=70_000, lease_ms=60_000)
    ).batch
    assert first is not None
    assert [m.message_id for m in first.request.messages] == [2, 3]
    await store.release(first)
    second = (
        await store.claim("77", max_messages=2, recheck_after_ms=70_000, lease_ms=60_000)
    ).batch
    assert second is not None
    assert [m.message_id for m in second.request.messages] == [4]


async def test_caps_refuse_what_would_grow_redis_without_bound(redis: Redis) -> None:
    store = BatchStore(redis, 7 * DAY)
    caps = {"max_pending_messages": 3, "max_message_bytes": 2000}
    for message_id in (1, 2, 3):
        await append(store, message_id, window_ms=0, **caps)
    refused = await store.append(
        "77",
        CHAT,
        USER,
        text(4),
        rules(window_ms=1000, max_wait_ms=5000, max_messages=10, **caps),
    )
    assert (refused.refused, refused.pending) == ("too-many-pending", 3)
    huge = await store.append(
        "77",
        CHAT,
        USER,
        text(5, "x" * 5000),
        rules(
            window_ms=1000,
            max_wait_ms=5000,
            max_messages=10,
            max_pending_messages=10,
            max_message_bytes=2000,
        ),
    )
    assert huge.refused == "message-too-large"
    assert await pending_count(redis, "77") == 3

    # Once the batch is claimed there is room again, and a refused id is not a duplicate.
    batch = (
        await store.claim("77", max_messages=10, recheck_after_ms=70_000, lease_ms=60_000)
    ).batch
    assert batch is not None
    again = await store.append(
        "77",
        CHAT,
        USER,
        text(4),
        rules(window_ms=1000, max_wait_ms=5000, max_messages=10, **caps),
    )
    assert (again.refused, again.duplicate, again.pending) == (None, False, 1)


async def test_pending_bytes_are_counted_across_claims(redis: Redis) -> None:
    store = BatchStore(redis, 7 * DAY)
    size = len(text(1).model_dump_json(exclude_none=True))
    caps = {"max_pending_bytes": 3 * size + 10}
    for message_id in (1, 2, 3):
        assert (
            await store.append(
                "77",
                CHAT,
                USER,
                text(message_id),
                rules(window_ms=0, max_wait_ms=5000, max_messages=2, **caps),
            )
        ).refused is None
    running = (
        await store.claim("77", max_messages=2, recheck_after_ms=70_000, lease_ms=60_000)
    ).batch
    assert running is not None
    # One message is still pending: room for exactly two more of the same size.
    results = [
        await store.append(
            "77",
            CHAT,
            USER,
            text(n),
            rules(window_ms=0, max_wait_ms=5000, max_messages=10, **caps),
        )
        for n in (4, 5, 6)
    ]
    assert [r.refused for r in results] == [None, None, "too-many-pending-bytes"]


async def test_messages_that_overtake_each_other_are_kept_in_message_id_order(
    redis: Redis,
) -> None:
    """Handlers run concurrently, so message 3 can be stored before 1 and 2."""
    store = BatchStore(redis, 7 * DAY)
    for message_id in (3, 5, 1, 4, 2):
        await append(store, message_id, window_ms=60_000)
    stored = await pending_messages(redis, "77")
    assert [m.message_id for m in stored] == [1, 2, 3, 4, 5]
    await redis.hset(KEYS.info, "deadline", "0")  # type: ignore[misc]  # due now
    first = (
        await store.claim("77", max_messages=2, recheck_after_ms=70_000, lease_ms=60_000)
    ).batch
    assert first is not None
    assert [m.message_id for m in first.request.messages] == [1, 2]
    assert await pending_count(redis, "77") == 3


async def test_a_message_before_any_part_went_supersedes_the_claimed_batch(redis: Redis) -> None:
    """The claimed batch's messages come back in front, in order, as one burst that keeps
    its first message's time; the old run can store no answer; its release counts nothing."""
    store = BatchStore(redis, 7 * DAY)
    for message_id in (1, 2):
        await append(store, message_id, window_ms=0)
    running = (
        await store.claim("77", max_messages=10, recheck_after_ms=70_000, lease_ms=60_000)
    ).batch
    assert running is not None
    await redis.delete(arq_layout.in_progress_key(JOB))  # ARQ ended the run for a retry
    superseding = await store.append("77", CHAT, USER, text(3), rules(supersede=True))
    assert superseding.scheduling is Scheduling.SUPERSEDING
    assert superseding.pending == 3
    # No job runs (as while the batch waits for a retry): it is queued now, to release it.
    assert await redis.zscore(arq_layout.QUEUE, JOB) == superseding.now_ms
    assert superseding.deadline_ms <= running.first_at_ms + RULES.max_wait_ms
    with pytest.raises(Abandoned, match="superseded"):
        await store.save_answer(running, BatchResponse(messages=[]))
    with pytest.raises(Abandoned):
        await store.release(running)
    first_at = await redis.hget(ConversationKeys("77").info, "first_at")  # type: ignore[misc]
    assert first_at == str(running.first_at_ms).encode()
    await redis.hset(ConversationKeys("77").info, "deadline", "0")  # type: ignore[misc]
    after = (
        await store.claim("77", max_messages=10, recheck_after_ms=70_000, lease_ms=60_000)
    ).batch
    assert after is not None and after.batch_id != running.batch_id
    assert [m.message_id for m in after.request.messages] == [1, 2, 3]


async def test_once_a_part_is_going_a_new_message_waits_for_the_next_batch(redis: Redis) -> None:
    store = BatchStore(redis, 7 * DAY)
    leases = BatchLeases(redis, 7 * DAY)
    await append(store, 1, window_ms=0)
    running = (
        await store.claim("77", max_messages=10, recheck_after_ms=70_000, lease_ms=60_000)
    ).batch
    assert running is not None
    assert await leases.begin_part(running, 1) == "go"
    later = await store.append("77", CHAT, USER, text(2), rules(supersede=True))
    assert later.scheduling is Scheduling.BEHIND_RUNNING
    assert await store.release(running)
    await redis.hset(ConversationKeys("77").info, "deadline", "0")  # type: ignore[misc]
    after = (
        await store.claim("77", max_messages=10, recheck_after_ms=70_000, lease_ms=60_000)
    ).batch
    assert after is not None and [m.message_id for m in after.request.messages] == [2]


async def test_past_the_max_wait_a_batch_is_not_superseded(redis: Redis) -> None:
    """A person who never pauses is answered at BATCH_MAX_WAIT_SECONDS."""
    store = BatchStore(redis, 7 * DAY)
    await append(store, 1, window_ms=0, max_wait_ms=0)
    running = (
        await store.claim("77", max_messages=10, recheck_after_ms=70_000, lease_ms=60_000)
    ).batch
    assert running is not None
    later = await store.append("77", CHAT, USER, text(2), rules(supersede=True, max_wait_ms=0))
    assert later.scheduling is Scheduling.BEHIND_RUNNING
    assert await store.save_answer(running, BatchResponse(messages=[]))
