"""The answer's life on Telegram: how soon "Thinking…" shows, and how soon Stop stops.

1. Placeholder: people each have a batch due at the same moment; 2 worker processes ask
   a backend that thinks for 1 s before answering. Per batch: from its claim (the
   worker's log line gives it against the deadline, on Redis's clock, the same machine's)
   to the Bot API stand-in receiving the "Thinking…" draft.
   Baseline in the same run: the same batches with DRAFT_THINKING=false, to the first
   "typing…", which is what a person saw before.
2. Stop: STREAMS people at once each see their answer streaming (40 words at 250 ms, 10 s);
   once every one has a draft with text, all press Stop together. Per batch: from the
   press reaching the stand-in's queue to the backend seeing its stream closed (the bot
   process hears the press, the worker cancels the call). Baseline in the same run: how
   much longer each backend would have written had nothing cancelled it.
"""

from __future__ import annotations

import asyncio
import os
import re
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from redis.asyncio import Redis

from bench.common import percentile, product_environment, sandbox, workers
from sandbox.example_backend import ExampleBackend
from sandbox.launcher import ChildProcess
from sandbox.telegram_api import Person, TelegramStandIn
from shared.models import (
    BatchRequest,
    BatchResponse,
    Chat,
    IncomingMessage,
    MessageKind,
    OutgoingMessage,
    User,
)
from shared.rules import BatchingRules
from shared.store import BatchStore

THINKING_SECONDS = 1.0
LEAD_MS = 2000
WORDS, SECONDS_PER_WORD = 40, 0.25
RULES = BatchingRules(
    window_ms=LEAD_MS,
    max_wait_ms=LEAD_MS,
    max_messages=10,
    max_pending_messages=10,
    max_pending_bytes=1_000_000,
    max_message_bytes=100_000,
)


@dataclass(frozen=True, slots=True)
class AnswerLifeResult:
    people: int
    placeholder_p50_ms: float
    placeholder_p99_ms: float
    typing_p50_ms: float
    """Baseline: the first "typing…" after the claim, without the placeholder."""
    typing_p99_ms: float
    streams: int
    stop_closed_p50_ms: float
    stop_closed_p99_ms: float
    stop_closed_max_ms: float
    uncancelled_p50_ms: float
    """Baseline: how much longer each stream would have run had Stop not cancelled it."""


async def forty_words(request: BatchRequest) -> BatchResponse:
    return BatchResponse(messages=[OutgoingMessage(text=" ".join(f"w{n}" for n in range(WORDS)))])


async def _due_batches(store: BatchStore, people: int) -> dict[int, float]:
    """One message each, due LEAD_MS from now; chat id to its deadline (monotonic)."""
    to_monotonic = time.monotonic() - time.time()

    async def one(user_id: int) -> tuple[int, float]:
        message = IncomingMessage(
            message_id=1, date=datetime.now(UTC), kind=MessageKind.TEXT, text="hi"
        )
        chat, user = Chat(id=user_id, type="private"), User(id=user_id, first_name="Bench")
        stored = await store.append(str(user_id), chat, user, message, RULES)
        return user_id, stored.deadline_ms / 1000 + to_monotonic

    return dict(await asyncio.gather(*(one(30_000 + n) for n in range(people))))


CLAIMED = re.compile(
    rb"batch \w+ of (\d+) claimed: \d+ message\(s\), (-?\d+) ms after its deadline"
)
"""The worker's log line at a claim: the conversation, and the claim's lateness (Redis's
clock) after the deadline."""


async def _shown_after_claim(url: str, people: int, thinking: bool) -> list[float]:
    """Per batch, ms from its claim to its placeholder (or first "typing…")."""
    redis = Redis.from_url(url)
    await redis.flushall()
    async with sandbox(delay_seconds=THINKING_SECONDS) as (telegram, _):
        env = product_environment(
            url, telegram, _, worker_max_jobs=people, draft_thinking=str(thinking).lower()
        )
        async with workers(env, 2) as started:
            due = await _due_batches(BatchStore(redis, 7 * 86400), people)
            await telegram.wait_for_sent(people, timeout_seconds=300)
            claimed = {
                int(chat): due[int(chat)] + int(late) / 1000
                for process in started
                for chat, late in CLAIMED.findall(process.log)
            }
    await redis.aclose()
    shown: dict[int, float] = {}
    signs = telegram.drafts if thinking else telegram.chat_actions
    for sign in signs:
        shown.setdefault(sign.chat_id, sign.at)
    return [(shown[chat] - at) * 1000 for chat, at in claimed.items()]


async def _stop_closes(url: str, streams: int) -> tuple[list[float], list[float]]:
    """Per stream, ms from the press to the closed stream, and the writing it saved."""
    redis = Redis.from_url(url)
    await redis.flushall()
    async with sandbox() as (telegram, backend):
        backend.stream, backend.seconds_per_piece = True, SECONDS_PER_WORD
        backend.answerer = forty_words
        env = product_environment(
            url, telegram, backend, worker_max_jobs=streams, batch_window_seconds=0.2
        )
        bot = await ChildProcess.launch(
            [sys.executable, "-m", "bot"],
            {**os.environ, **env, "LOG_LEVEL": "INFO", "BOT_METRICS_PORT": "0"},
            b"Run polling",
        )
        try:
            async with workers(env, 2):
                people = [Person(id=40_000 + n, first_name="Bench") for n in range(streams)]
                for person in people:
                    await telegram.person_says(person, "write me an essay")
                await _every_chat_has_text(telegram, streams)
                presses = [_press(telegram, person) for person in people]
                pressed = time.monotonic()
                await telegram.deliver(*presses)
                await _every_stream_closed(backend, streams)
        finally:
            await bot.stop()
    await redis.aclose()
    closed = [(at - pressed) * 1000 for at in backend.closed_streams.values()]
    would_end = [at + WORDS * SECONDS_PER_WORD for at in backend.first_piece_at.values()]
    saved = [(end - pressed) * 1000 for end in would_end]
    return closed, saved


def _press(telegram: TelegramStandIn, person: Person) -> dict[str, object]:
    draft_id = next(d.draft_id for d in telegram.drafts if d.chat_id == person.id)
    chat = {"id": person.id, "type": "private", "first_name": person.first_name}
    return telegram.update_of("stopped_message_generation", {"chat": chat, "draft_id": draft_id})


async def _every_chat_has_text(telegram: TelegramStandIn, streams: int) -> None:
    async with asyncio.timeout(120):
        while len({d.chat_id for d in telegram.drafts if d.text}) < streams:
            await asyncio.sleep(0.05)


async def _every_stream_closed(backend: ExampleBackend, streams: int) -> None:
    async with asyncio.timeout(60):
        while len(backend.closed_streams) < streams:
            await asyncio.sleep(0.01)


async def run(url: str, people: int = 200, streams: int = 100) -> AnswerLifeResult:
    placeholder = await _shown_after_claim(url, people, thinking=True)
    typing = await _shown_after_claim(url, people, thinking=False)
    closed, saved = await _stop_closes(url, streams)
    return AnswerLifeResult(
        people=people,
        placeholder_p50_ms=statistics.median(placeholder),
        placeholder_p99_ms=percentile(placeholder, 0.99),
        typing_p50_ms=statistics.median(typing),
        typing_p99_ms=percentile(typing, 0.99),
        streams=streams,
        stop_closed_p50_ms=statistics.median(closed),
        stop_closed_p99_ms=percentile(closed, 0.99),
        stop_closed_max_ms=max(closed),
        uncancelled_p50_ms=statistics.median(saved),
    )
