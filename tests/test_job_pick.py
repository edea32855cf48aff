"""How a worker takes a due ARQ job (``take_job.lua``) and ends it (``schedule.lua`` with
``job_ended``), step by step against a real Redis: the same rules as ARQ's own
WATCH/MULTI pick and its finish, each in one call. Workers racing for the same jobs end
to end are in test_side_by_side.py and test_many_people.py."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from redis.asyncio import Redis

from shared import arq_layout
from shared.models import Chat, IncomingMessage, MessageKind, User
from shared.redis_scripts import load_script
from shared.rules import BatchingRules
from shared.states import ScheduleState
from shared.store import BatchStore

JOB = "batch:501"
LOCK_MS = 310_000
NOW = 1_700_000_000_000


async def take(redis: Redis, now_ms: int = NOW) -> int | None:
    script = load_script(redis, "take_job")
    keys = [arq_layout.QUEUE, arq_layout.in_progress_key(JOB)]
    score = await script(keys=keys, args=[JOB, now_ms, LOCK_MS])
    return int(score) if score else None


async def test_a_due_job_is_taken_once_with_arqs_lock(redis: Redis) -> None:
    await redis.zadd(arq_layout.QUEUE, {JOB: NOW - 5})

    assert await take(redis) == NOW - 5
    lock = arq_layout.in_progress_key(JOB)
    assert await redis.get(lock) == b"1"
    assert LOCK_MS - 1000 < await redis.pttl(lock) <= LOCK_MS
    assert await take(redis) is None  # running now: nobody takes it again
    assert await redis.zscore(arq_layout.QUEUE, JOB) == NOW - 5  # ARQ removes it at its end


async def test_a_job_not_due_or_gone_is_left_alone(redis: Redis) -> None:
    assert await take(redis) is None  # not queued (finished and removed)
    await redis.zadd(arq_layout.QUEUE, {JOB: NOW + 1000})  # moved later by a new message
    assert await take(redis) is None
    assert await redis.exists(arq_layout.in_progress_key(JOB)) == 0
    assert await take(redis, NOW + 1000) == NOW + 1000


async def test_of_many_racing_takes_exactly_one_wins(redis: Redis) -> None:
    await redis.zadd(arq_layout.QUEUE, {JOB: NOW})
    # Twenty calls at once, on as many connections of the pool: Redis runs each whole.
    results = await asyncio.gather(*(take(redis) for _ in range(20)))
    assert sorted(results, key=lambda r: r is None) == [NOW] + [None] * 19


async def _a_running_job(redis: Redis, conversation: str) -> str:
    """The job as ARQ leaves it while a worker runs it: queued, locked, tried once."""
    job_id = arq_layout.batch_job_id(conversation)
    await redis.zadd(arq_layout.QUEUE, {job_id: NOW})
    await redis.set(arq_layout.job_key(job_id), arq_layout.batch_job_payload(conversation))
    await redis.set(arq_layout.in_progress_key(job_id), b"1", px=LOCK_MS)
    await redis.set(arq_layout.retry_key(job_id), b"1")
    await redis.zadd(arq_layout.ABORT_JOBS, {job_id: NOW})
    return job_id


async def test_a_jobs_end_with_nothing_new_leaves_no_arq_key(redis: Redis) -> None:
    job_id = await _a_running_job(redis, "601")
    state, _ = await BatchStore(redis, 86400).schedule("601", job_ended=True)

    assert state == ScheduleState.IDLE
    assert await redis.zscore(arq_layout.QUEUE, job_id) is None
    assert await redis.zscore(arq_layout.ABORT_JOBS, job_id) is None
    for key in (arq_layout.job_key(job_id), arq_layout.in_progress_key(job_id),
                arq_layout.retry_key(job_id)):  # fmt: skip
        assert await redis.exists(key) == 0, key


async def test_a_message_that_came_during_the_job_gets_the_next_job_in_the_same_call(
    redis: Redis,
) -> None:
    store = BatchStore(redis, 86400)
    job_id = await _a_running_job(redis, "602")
    rules = BatchingRules(
        window_ms=60_000,
        max_wait_ms=120_000,
        max_messages=10,
        max_pending_messages=10,
        max_pending_bytes=100_000,
        max_message_bytes=10_000,
    )
    message = IncomingMessage(
        message_id=9, date=datetime.now(UTC), kind=MessageKind.TEXT, text="one more thing"
    )
    await store.append("602", Chat(id=602, type="private"), User(id=602, first_name="Al"),
                       message, rules)  # fmt: skip
    assert await redis.zscore(arq_layout.QUEUE, job_id) == NOW  # the running job, untouched

    state, run_at = await store.schedule("602", job_ended=True)

    assert state == ScheduleState.SCHEDULED
    assert await redis.zscore(arq_layout.QUEUE, job_id) == run_at > NOW
    assert await redis.exists(arq_layout.in_progress_key(job_id)) == 0
    assert await redis.exists(arq_layout.retry_key(job_id)) == 0  # a new job: tries from 1
    payload = await redis.get(arq_layout.job_key(job_id))
    assert payload is not None and b"process_message_batch" in payload


async def test_a_claim_takes_back_the_lock_a_failover_lost(redis: Redis) -> None:
    """ARQ's pick sets the lock without waiting for a replica: a failover right after it
    can lose it. The claim (which does wait) sets it again, so no other worker's poll
    takes the job and resumes the batch from under the run."""
    store = BatchStore(redis, 86400)
    job_id = await _a_running_job(redis, "603")
    rules = BatchingRules(window_ms=1, max_wait_ms=1000, max_messages=10,
                          max_pending_messages=10, max_pending_bytes=100_000,
                          max_message_bytes=10_000)  # fmt: skip
    message = IncomingMessage(message_id=1, date=datetime.now(UTC), kind=MessageKind.TEXT,
                              text="hello")  # fmt: skip
    await store.append("603", Chat(id=603, type="private"), User(id=603, first_name="Bo"),
                       message, rules)  # fmt: skip
    lock = arq_layout.in_progress_key(job_id)
    await redis.delete(lock)  # the new primary never had it

    outcome = await store.claim("603", max_messages=10, recheck_after_ms=5000, lease_ms=15_000)

    assert outcome.batch is not None
    assert 14_000 < await redis.pttl(lock) <= 15_000
    keys = [arq_layout.QUEUE, lock]
    other_poll = load_script(redis, "take_job")
    assert await other_poll(keys=keys, args=[job_id, NOW, LOCK_MS]) is None
