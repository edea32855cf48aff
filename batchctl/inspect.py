"""Read-only views of batchbot's Redis state, from the same keys RedisInsight shows.

Nothing here writes: an operator can run it against production at any time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from shared import arq_layout
from shared.keys import DEAD_LETTERS_INDEX, PENDING_INDEX, ConversationKeys, channel_of
from shared.redis_scripts import as_text


@dataclass(frozen=True, slots=True)
class ConversationSummary:
    """One line of the overview: what waits for one conversation and when it is due."""

    conversation: str
    next_step_ms: int
    pending_messages: int
    pending_bytes: int
    first_at_ms: int | None
    inflight_batch: str | None
    parts_sent: int | None
    job_run_at_ms: int | None
    paused_until_ms: int | None = None
    """A human has the conversation until then (``handoff:<conversation>``)."""
    paused_by: str | None = None
    held_messages: int = 0


@dataclass(frozen=True, slots=True)
class Overview:
    now_ms: int
    conversations: int
    shown: list[ConversationSummary]
    in_flight: int
    dead_letters: int


async def _now_ms(redis: Redis) -> int:
    """Redis's clock, the one the deadlines were computed with."""
    seconds, micros = await redis.time()
    return int(seconds) * 1000 + int(micros) // 1000


async def overview(redis: Redis, limit: int) -> Overview:
    """The ``limit`` conversations due soonest, and totals."""
    total = int(await redis.zcard(PENDING_INDEX))
    raw = await redis.zrange(PENDING_INDEX, 0, limit - 1, withscores=True)
    async with redis.pipeline(transaction=False) as pipe:
        for member, _ in raw:
            keys = ConversationKeys(as_text(member))
            job_id = arq_layout.batch_job_id(keys.conversation)
            pipe.llen(keys.batch)
            pipe.hmget(keys.info, ["bytes", "first_at"])
            pipe.hmget(keys.inflight, ["batch_id", "sent"])
            pipe.zscore(arq_layout.QUEUE, job_id)
            pipe.hmget(keys.handoff, ["until", "source"])
            pipe.llen(keys.held)
        replies = await pipe.execute()
    shown = []
    for index, (member, score) in enumerate(raw):
        count, (size, first_at), (batch_id, sent), run_at, (until, source), held = replies[
            index * 6 : index * 6 + 6
        ]
        shown.append(
            ConversationSummary(
                conversation=as_text(member),
                next_step_ms=int(score),
                pending_messages=int(count),
                pending_bytes=int(size or 0),
                first_at_ms=int(first_at) if first_at else None,
                inflight_batch=as_text(batch_id) if batch_id else None,
                parts_sent=int(sent) if sent is not None else None,
                job_run_at_ms=int(run_at) if run_at is not None else None,
                paused_until_ms=int(until) if until else None,
                paused_by=as_text(source) if source else None,
                held_messages=int(held),
            )
        )
    in_flight = 0
    async for _ in redis.scan_iter(match=ConversationKeys("*").inflight, count=1000):
        in_flight += 1
    return Overview(
        now_ms=await _now_ms(redis),
        conversations=total,
        shown=shown,
        in_flight=in_flight,
        dead_letters=int(await redis.zcard(DEAD_LETTERS_INDEX)),
    )


def _json_fields(fields: dict[str, str], names: tuple[str, ...]) -> dict[str, Any]:
    return {k: json.loads(v) if k in names and v else v for k, v in fields.items()}


def _transcribing_shown(message: dict[str, Any], waits: dict[str, int]) -> dict[str, Any]:
    """A voice note still being transcribed says so ("transcribing": true) until its
    transcript (or transcript_error) is on it."""
    if str(message.get("message_id")) in waits:
        return {**message, "transcribing": True}
    return message


async def conversation_detail(redis: Redis, conversation: str) -> dict[str, Any] | None:
    """Everything stored for one conversation, JSON decoded; None if nothing is."""
    keys = ConversationKeys(conversation)
    job_id = arq_layout.batch_job_id(conversation)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.lrange(keys.batch, 0, -1)
        pipe.hgetall(keys.info)
        pipe.hgetall(keys.inflight)
        pipe.zscore(PENDING_INDEX, conversation)
        pipe.zscore(arq_layout.QUEUE, job_id)
        pipe.exists(arq_layout.in_progress_key(job_id))
        pipe.hgetall(keys.handoff)
        pipe.lrange(keys.held, 0, -1)
        pipe.zrange(keys.transcribing, 0, -1, withscores=True)
        replies = await pipe.execute()
    pending, info, inflight, next_step, run_at, running, handoff, held, transcribing = replies
    if not (pending or info or inflight or next_step is not None or handoff or held):
        return None
    info_fields = {as_text(k): as_text(v) for k, v in info.items()}
    waits = {as_text(m): int(until) for m, until in transcribing}
    inflight_fields = {as_text(k): as_text(v) for k, v in inflight.items()}
    return {
        "conversation": conversation,
        "channel": channel_of(conversation).value,
        "now_ms": await _now_ms(redis),
        "next_step_ms": int(next_step) if next_step is not None else None,
        "pending": [_transcribing_shown(json.loads(m), waits) for m in pending],
        "batch_info": _json_fields(info_fields, ("chat", "user")),
        "in_flight": _json_fields(inflight_fields, ("chat", "user", "messages", "answer")),
        "job": {
            "id": job_id,
            "run_at_ms": int(run_at) if run_at is not None else None,
            "running": bool(running),
        },
        "seen_message_ids": len(info_fields.get("seen", "").split()),
        "handoff": {as_text(k): as_text(v) for k, v in handoff.items()} or None,
        "held": [json.loads(item) for item in held],
        "transcribing": waits,
    }
