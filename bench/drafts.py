"""Drafts: how soon a person sees the answer being written, and how often it grows.

People each have a batch due at once; 2 worker processes ask the example backend, which
streams 40 words at 50 ms a word (2 s), and show the answer as a Telegram draft. Per
batch: from the backend writing its first piece to the Bot API stand-in receiving the
first draft (both in this process, one clock). Baseline in the same run: the first text
a person would see without streaming, the final message, timed from the same first
piece. Draft updates per second are per chat while its answer is written (the setting
allows 2).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from redis.asyncio import Redis

from bench.common import product_environment, sandbox, workers
from bench.e2e import LEAD_MS, pending_batches
from sandbox.telegram_api import Draft
from shared.models import (
    BatchRequest,
    BatchResponse,
    OutgoingMessage,
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
        # The answer's drafts: "Thinking…" (no text) comes before the first piece.
        drafts = [d for d in telegram.drafts if d.chat_id == chat and d.text]
        final = next(m for m in telegram.sent if m.chat_id == chat)
        if drafts:
            latencies.append((drafts[0].at - started) * 1000)
            rates.append(_rate(drafts))
        baseline.append((final.at - started) * 1000)
    await redis.aclose()
    return DraftResult(
        people=people,
        first_draft_p50_ms=statistics.median(latencies),
        first_draft_p99_ms=_percentile(latencies, 0.99),
        first_draft_max_ms=max(latencies),
        without_drafts_p50_ms=statistics.median(baseline),
        updates_per_second_per_chat=statistics.median(rates),
    )
