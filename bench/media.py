"""Voice notes heard during the window (``bench --only media``).

PEOPLE people each send a voice note, then two texts 0.2 s apart, starting within
SPREAD_SECONDS of each other; transcription takes
TRANSCRIBE_SECONDS, the window is WINDOW_SECONDS; 2 worker processes, each transcribing
up to 100 notes at once. Per batch: from the
later of its deadline (the window after the last text, Redis's clock) and its transcript
(the transcription stand-in answering) to the backend receiving the batch. Baseline in
the same run: the same bursts with transcription off, the backend transcribing once the
batch reached it (as batchbot did before, and as other assistants do): each answer then
starts TRANSCRIBE_SECONDS later than the batch. Reported: how much sooner each answer can
start with the transcript already on the batch.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from redis.asyncio import Redis

from bench.common import percentile, product_environment, sandbox, workers
from sandbox.telegram_api import TelegramStandIn
from sandbox.transcription_api import VOICE_NOTE, TranscriptionStandIn
from shared.models import Chat, IncomingMessage, MessageKind, User
from shared.rules import BatchingRules
from shared.store import BatchStore

TRANSCRIBE_SECONDS = 1.5
WINDOW_SECONDS = 1.0
WAIT_SECONDS = 10.0
GAP_SECONDS = 0.2
SPREAD_SECONDS = 5.0
"""People start their bursts within this much of each other (the same offsets in both
runs): 40 bursts a second, not 200 batches falling due in the same millisecond."""


@dataclass(frozen=True, slots=True)
class MediaResult:
    people: int
    start_after_ready_p50_ms: float
    start_after_ready_p99_ms: float
    """A batch's start after the later of its deadline and its transcript."""
    baseline_start_after_deadline_p50_ms: float
    baseline_start_after_deadline_p99_ms: float
    """The same herd of batches without voice notes: start after the deadline."""
    answer_start_p50_s: float
    """From the last text to the backend having the words (transcript on the batch)."""
    baseline_answer_start_p50_s: float
    """The same with transcription at batch time: the batch, then TRANSCRIBE_SECONDS."""
    saved_p50_s: float
    untranscribed: int
    """Batches that went without their transcript (its wait ran out)."""


@dataclass(frozen=True, slots=True)
class _Burst:
    last_at: float
    due_at: float
    audio: str
    """sha256 of the person's voice note."""


async def _bursts(
    store: BatchStore, telegram: TelegramStandIn, people: int, rules: BatchingRules
) -> dict[int, _Burst]:
    to_monotonic = time.monotonic() - time.time()

    async def one(user_id: int) -> tuple[int, _Burst]:
        await asyncio.sleep(random.Random(user_id).uniform(0, SPREAD_SECONDS))
        audio = VOICE_NOTE.read_bytes() + user_id.to_bytes(8, "big")
        file_id = f"bench-voice-{user_id}"
        telegram.files[file_id] = audio
        chat, user = Chat(id=user_id, type="private"), User(id=user_id, first_name="Bench")
        messages = [
            IncomingMessage(message_id=1, date=datetime.now(UTC), kind=MessageKind.VOICE,
                            file_id=file_id, mime_type="audio/ogg", duration=4),
            IncomingMessage(message_id=2, date=datetime.now(UTC), kind=MessageKind.TEXT,
                            text="or"),
            IncomingMessage(message_id=3, date=datetime.now(UTC), kind=MessageKind.TEXT,
                            text="ok?"),
        ]  # fmt: skip
        for index, message in enumerate(messages):
            if index:
                await asyncio.sleep(GAP_SECONDS)
            stored = await store.append(str(user_id), chat, user, message, rules)
        last_at = time.monotonic()
        due = stored.now_ms / 1000 + WINDOW_SECONDS + to_monotonic
        return user_id, _Burst(last_at, due, hashlib.sha256(audio).hexdigest())

    return dict(await asyncio.gather(*(one(50_000 + n) for n in range(people))))


async def _run(url: str, people: int, transcribe: bool) -> list[tuple[_Burst, float, float]]:
    """Per person: the burst, when the backend got the batch, when the words were heard."""
    redis = Redis.from_url(url)
    await redis.flushall()
    hearing = TranscriptionStandIn(delay_seconds=TRANSCRIBE_SECONDS)
    await hearing.start()
    try:
        async with sandbox() as (telegram, backend):
            # Every note at once (2 workers x 100): what is measured is the wait for the
            # batch, not a queue of notes (TRANSCRIBE_CONCURRENCY's default is 50).
            more = (
                {"transcribe_url": hearing.url, "transcribe_concurrency": 100} if transcribe else {}
            )
            env = product_environment(
                url, telegram, backend, worker_max_jobs=people,
                transcribe_timeout_seconds=WAIT_SECONDS, batch_window_seconds=WINDOW_SECONDS,
                **more,
            )  # fmt: skip
            wait_ms = round(WAIT_SECONDS * 1000) if transcribe else 0
            rules = BatchingRules(round(WINDOW_SECONDS * 1000), 60_000, 10, 10, 1_000_000, 100_000,
                                  transcription_wait_ms=wait_ms)  # fmt: skip
            async with workers(env, 2):
                bursts = await _bursts(BatchStore(redis, 7 * 86400), telegram, people, rules)
                await telegram.wait_for_sent(people, timeout_seconds=300)
            started = {int(call.request.user.id): call.started_at for call in backend.calls}
    finally:
        await hearing.stop()
        await redis.aclose()
    return [
        (burst, started[user], hearing.answered_at.get(burst.audio, 0.0))
        for user, burst in bursts.items()
    ]


async def run(url: str, people: int = 200) -> MediaResult:
    heard = await _run(url, people, transcribe=True)
    late = [(start - max(b.due_at, words)) * 1000 for b, start, words in heard if words]
    ours = [start - b.last_at for b, start, _ in heard]
    before = await _run(url, people, transcribe=False)
    theirs = [start + TRANSCRIBE_SECONDS - b.last_at for b, start, _ in before]
    herd = [(start - b.due_at) * 1000 for b, start, _ in before]
    return MediaResult(
        people=people,
        start_after_ready_p50_ms=statistics.median(late),
        start_after_ready_p99_ms=percentile(late, 0.99),
        baseline_start_after_deadline_p50_ms=statistics.median(herd),
        baseline_start_after_deadline_p99_ms=percentile(herd, 0.99),
        answer_start_p50_s=statistics.median(ours),
        baseline_answer_start_p50_s=statistics.median(theirs),
        saved_p50_s=statistics.median(theirs) - statistics.median(ours),
        untranscribed=sum(1 for _, start, words in heard if not words or words > start),
    )
