"""What the operations console shows, read from Redis in bounded steps.

Every refresh costs the same whether 10 or 100,000 conversations are pending: totals
come from ZCARD, lists from the head of a sorted set (the soonest deadlines, the newest
dead letters, the workers), and the details of those few in two pipelined round trips.
Nothing scans the keyspace. ``bench/console.py`` measures it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from shared.arq_layout import HEALTH_CHECK_KEY_PREFIX
from shared.keys import (
    DEAD_LETTERS_INDEX,
    HANDOFFS,
    LEASES,
    PENDING_INDEX,
    STATS_FIELDS,
    UNDELIVERED,
    WORKER_STOPS,
    WORKERS,
    ConversationKeys,
    channel_of,
    dead_letter_key,
    stats_key,
)
from shared.redis_scripts import as_text

RATE_MINUTES = 15
"""Minutes of history in the rate charts (the counts are kept two hours)."""


@dataclass(frozen=True, slots=True)
class ConsoleLimits:
    pending: int = 50
    dead_letters: int = 50
    undelivered: int = 20


async def redis_now_ms(redis: Redis) -> int:
    """Redis's clock: every deadline in Redis was computed with it."""
    seconds, micros = await redis.time()
    return int(seconds) * 1000 + int(micros) // 1000


def _text(value: Any) -> str | None:
    return None if value is None else as_text(value)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def step_of(batch: dict[str, Any], leased: bool) -> str:
    """Where a claimed batch is: what its worker does now, or waits for. A batch whose
    run ended without finishing it (a retry is queued) holds no lease."""
    if batch["abandoned"]:
        return f"abandoned ({batch['abandoned'].replace('_', ' ')}): never answered"
    if batch["sent"]:
        return f"{batch['sent']} part(s) sent"
    if batch["answer"]:
        return "answer stored, sending"
    return "asking the backend" if leased else "waiting to retry the backend"


def _conversation_row(
    conversation: str,
    next_step_ms: int,
    pending: int,
    info: list[Any],
    inflight: list[Any],
    transcribing: int,
) -> dict[str, Any]:
    bytes_, first_at, deadline = info
    batch_id, claimed_at, sent, answer, messages, abandoned = inflight
    row: dict[str, Any] = {
        "conversation": conversation,
        "channel": channel_of(conversation).value,
        "next_step_ms": next_step_ms,
        "pending_messages": pending,
        "pending_bytes": int(bytes_ or 0),
        "first_at_ms": _int(first_at),
        "deadline_ms": _int(deadline),
        "transcribing": transcribing,
        "batch": None,
    }
    if batch_id is not None:
        row["batch"] = {
            "batch_id": as_text(batch_id),
            "claimed_at_ms": _int(claimed_at),
            "messages": len(json.loads(messages)) if messages else 0,
            "sent": _int(sent) or 0,
            "answer": answer is not None,
            "abandoned": _text(abandoned),
        }
    return row


async def _heads(redis: Redis, limits: ConsoleLimits, now_ms: int) -> list[Any]:
    """Round trip 1: the totals and the head of each index."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zcard(PENDING_INDEX)
        pipe.zcard(LEASES)
        pipe.zcard(DEAD_LETTERS_INDEX)
        pipe.zrange(PENDING_INDEX, 0, limits.pending - 1, withscores=True)
        pipe.zrange(LEASES, 0, limits.pending - 1, withscores=True)
        pipe.zrevrange(DEAD_LETTERS_INDEX, 0, limits.dead_letters - 1, withscores=True)
        pipe.zrange(WORKERS, 0, -1, withscores=True)
        pipe.llen(UNDELIVERED)
        pipe.lrange(UNDELIVERED, 0, limits.undelivered - 1)
        pipe.zrangebyscore(HANDOFFS, now_ms, "+inf", start=0, num=limits.pending, withscores=True)
        for minute in range(RATE_MINUTES):
            pipe.hgetall(stats_key(now_ms - (RATE_MINUTES - 1 - minute) * 60_000))
        return list(await pipe.execute())


async def _details(
    redis: Redis, shown: list[str], letters: list[Any], workers: list[Any], handoffs: list[Any]
) -> list[Any]:
    """Round trip 2: the details of what the heads named."""
    async with redis.pipeline(transaction=False) as pipe:
        for conversation in shown:
            keys = ConversationKeys(conversation)
            pipe.llen(keys.batch)
            pipe.hmget(keys.info, ["bytes", "first_at", "deadline"])
            fields = ["batch_id", "claimed_at", "sent", "answer", "messages", "abandoned"]
            pipe.hmget(keys.inflight, fields)
            pipe.zcard(keys.transcribing)
        for batch_id, _ in letters:
            pipe.hmget(dead_letter_key(as_text(batch_id)), ["conversation", "reason", "messages"])
        for worker, _ in workers:
            pipe.get(HEALTH_CHECK_KEY_PREFIX + as_text(worker))
        if workers:
            pipe.hmget(WORKER_STOPS, [as_text(worker) for worker, _ in workers])
        for conversation, _ in handoffs:
            keys = ConversationKeys(as_text(conversation))
            pipe.hmget(keys.handoff, ["source", "since"])
            pipe.llen(keys.held)
        return list(await pipe.execute())


async def console_state(redis: Redis, limits: ConsoleLimits | None = None) -> dict[str, Any]:
    """Everything the page shows, as JSON-ready data; two round trips plus the clock."""
    limits = limits or ConsoleLimits()
    now_ms = await redis_now_ms(redis)
    heads = await _heads(redis, limits, now_ms)
    pending_total, leased_total, dead_total, pending, leases, letters, workers = heads[:7]
    undelivered_total, undelivered, handoffs = heads[7:10]
    stats = heads[10:]
    shown = {as_text(m): int(s) for m, s in pending}
    lease_until = {as_text(m): int(s) for m, s in leases}
    for conversation, until in lease_until.items():
        shown.setdefault(conversation, until)
    details = await _details(redis, list(shown), letters, workers, handoffs)
    paused_details = details[len(details) - 2 * len(handoffs) :]
    details = details[: len(details) - 2 * len(handoffs)]
    rows = [
        _conversation_row(conversation, next_step, *details[index * 4 : index * 4 + 4])
        for index, (conversation, next_step) in enumerate(shown.items())
    ]
    details = details[len(shown) * 4 :]
    in_flight = []
    for row in rows:
        if row["batch"] is not None:
            leased = row["conversation"] in lease_until
            row["batch"]["step"] = step_of(row["batch"], leased)
            row["batch"]["lease_until_ms"] = lease_until.get(row["conversation"])
            in_flight.append(row)
    return {
        "now_ms": now_ms,
        "totals": {
            "pending_conversations": pending_total,
            "batches_running": leased_total,
            "dead_letters": dead_total,
        },
        "pending": [row for row in rows if row["pending_messages"] > 0],
        "in_flight": in_flight,
        "dead_letters": _letters(letters, details[: len(letters)]),
        "workers": _workers(
            workers,
            details[len(letters) : len(letters) + len(workers)],
            details[-1] if workers else [],
        ),
        "undelivered": {
            "total": undelivered_total,
            "newest": [json.loads(entry) for entry in undelivered],
        },
        "rates": _rates(stats, now_ms),
        "paused": _paused(handoffs, paused_details),
    }


def _paused(index: list[Any], details: list[Any]) -> list[dict[str, Any]]:
    """Conversations a human has, soonest handed back first (resumed or lapsed between the
    two round trips: left out)."""
    rows = []
    for position, (conversation, until) in enumerate(index):
        (source, since), held = details[position * 2 : position * 2 + 2]
        if source is None:
            continue
        rows.append(
            {
                "conversation": as_text(conversation),
                "channel": channel_of(as_text(conversation)).value,
                "until_ms": int(until),
                "since_ms": _int(since),
                "source": as_text(source),
                "held": int(held),
            }
        )
    return rows


def _letters(index: list[Any], fields: list[Any]) -> list[dict[str, Any]]:
    letters = []
    for (batch_id, failed_at), (conversation, reason, messages) in zip(index, fields, strict=True):
        if conversation is None:
            continue  # purged between the two round trips
        letters.append(
            {
                "batch_id": as_text(batch_id),
                "failed_at_ms": int(failed_at),
                "conversation": as_text(conversation),
                "channel": channel_of(as_text(conversation)).value,
                "reason": _text(reason) or "",
                "messages": len(json.loads(messages)) if messages else 0,
            }
        )
    return letters


def _workers(index: list[Any], health: list[Any], stops: list[Any]) -> list[dict[str, Any]]:
    """Every worker heard from in the last hour: up while its ARQ health key lives;
    otherwise stopped (it said so on a clean stop) or down (it died, or lost Redis)."""
    rows = []
    for (worker, seen), line, stopped in zip(index, health, stops, strict=True):
        state = "up" if line is not None else "stopped" if stopped is not None else "down"
        rows.append(
            {
                "worker": as_text(worker),
                "up": state == "up",
                "state": state,
                "last_seen_ms": int(seen),
                "stopped_at_ms": _int(stopped),
                "health": _text(line),
            }
        )
    return rows


def _clock(key: str) -> str:
    """``stats:2026-11-23T0305Z`` → ``03:05`` (UTC), a chart's label."""
    return f"{key[-5:-3]}:{key[-3:-1]}"


def _rates(stats: list[dict[bytes, bytes]], now_ms: int) -> dict[str, Any]:
    first_minute = now_ms - (RATE_MINUTES - 1) * 60_000
    series: dict[str, list[int]] = {field: [] for field in STATS_FIELDS}
    for counts in stats:
        decoded = {as_text(k): int(v) for k, v in counts.items()}
        for field in STATS_FIELDS:
            series[field].append(decoded.get(field, 0))
    return {
        "minutes": [_clock(stats_key(first_minute + i * 60_000)) for i in range(RATE_MINUTES)],
        **series,
    }
