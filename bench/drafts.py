"""Drafts: how soon a person sees the answer being written, and how often it grows.

People each have a batch due at once; 2 worker processes ask the example backend, which
streams 40 words at 50 ms a word (2 s), and show the answer as a Telegram draft. Per
batch: from the backend writing its first piece to the Bot API stand-in receiving the
first draft (both in this process, one clock). Baseline in the same run: the first text
a person would see without streaming, the final message, timed from the same first
piece. Draft updates per second are per chat while its answer is written (the setting
allows 2).

Also the Redis memory a conversation's history takes with HISTORY_TURNS=20: 20 turns of
a typical exchange (a 60-character question, a 300-character answer), written as the
release script writes them.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import UTC, datetime

from redis.asyncio import Redis

from bench.common import product_environment, sandbox, workers
from bench.e2e import LEAD_MS, pending_batches
from sandbox.telegram_api import Draft
from shared.keys import ConversationKeys
from shared.models import (
    BatchRequest,
    BatchResponse,
    OutgoingMessage,
    Turn,
    to_json,
)
from shared.store import BatchStore

WORDS = 40
SECONDS_PER_WORD = 0.05


@dataclass(frozen=True, slots=True)
class DraftResult:
    people: int
    first_draft_p50_ms: float
    first_draft_p99_ms: float
    first_draft_max_ms: float
    without_drafts_p50_ms: float
    """Baseline: the first text seen when the answer is not streamed (the final message)."""
    updates_per_second_per_chat: float
    history_bytes_per_conversation: float


async def forty_words(request: BatchRequest) -> BatchResponse:
    text = " ".join(f"word{n}" for n in range(WORDS))
    return BatchResponse(messages=[OutgoingMessage(text=text)])


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _rate(drafts: list[Draft]) -> float:
    if len(drafts) < 2:
        return 0.0
    return (len(drafts) - 1) / (drafts[-1].at - drafts[0].at)


async def _history_bytes(redis: Redis, conversations: int) -> float:
    """Bytes per conversation holding 20 turns, from INFO's used_memory."""
    await redis.flushall()
    before = int((await redis.info("memory"))["used_memory"])
    at = datetime.now(UTC)
    question = Turn(role="user", text="q" * 60, at=at)
    answer = Turn(role="assistant", text="a" * 300, at=at)
    turns = [to_json(question), to_json(answer)] * 10
    async with redis.pipeline(transaction=False) as pipe:
        for n in range(conversations):
            pipe.rpush(ConversationKeys(str(n)).history, *turns)
            pipe.expire(ConversationKeys(str(n)).history, 7 * 86400)
        await pipe.execute()
    after = int((await redis.info("memory"))["used_memory"])
    await redis.flushall()
    return (after - before) / conversations


async def run(url: str, people: int = 200) -> DraftResult:
    redis = Redis.from_url(url)
    await redis.flushall()
    async with sandbox() as (telegram, backend):
        backend.stream, backend.seconds_per_piece = True, SECONDS_PER_WORD
        backend.answerer = forty_words
        env = product_environment(url, telegram, backend, worker_max_jobs=people)
        async with workers(env, 2):
            await pending_batches(BatchStore(redis, 7 * 86400), people, LEAD_MS)
            await telegram.wait_for_sent(people, timeout_seconds=300)
    first_piece = {
        call.request.chat.id: backend.first_piece_at[call.batch_id] for call in backend.calls
    }
    latencies, baseline, rates = [], [], []
    for chat, started in first_piece.items():
        drafts = [d for d in telegram.drafts if d.chat_id == chat]
        final = next(m for m in telegram.sent if m.chat_id == chat)
        if drafts:
            latencies.append((drafts[0].at - started) * 1000)
            rates.append(_rate(drafts))
        baseline.append((final.at - started) * 1000)
    history = await _history_bytes(redis, 1000)
    await redis.aclose()
    return DraftResult(
        people=people,
        first_draft_p50_ms=statistics.median(latencies),
        first_draft_p99_ms=_percentile(latencies, 0.99),
        first_draft_max_ms=max(latencies),
        without_drafts_p50_ms=statistics.median(baseline),
        updates_per_second_per_chat=statistics.median(rates),
        history_bytes_per_conversation=history,
    )
