"""Streamed answers: the backend answers with Server-Sent Events; a Telegram private chat
sees the answer grow as a draft (sendMessageDraft), throttled, then gets the final text
once; a stream cut before its answer event is asked again; refused drafts fall back to
"typing…" without losing or doubling the answer. Groups and Business chats, which have no
drafts: ``test_growing``."""

from __future__ import annotations

import asyncio
import itertools
import logging
import signal

import pytest
from redis.asyncio import Redis

from sandbox.example_backend import ExampleBackend
from sandbox.launcher import launch_together
from sandbox.telegram_api import ForcedError, Person, TelegramStandIn
from shared.models import BatchRequest, BatchResponse, OutgoingMessage
from tests.conftest import Product, SettingsFactory, WorkerProcess, wait_until_idle
from tests.crashes import the_claimer

IDA = Person(id=8801, first_name="Ida")


async def forty_words(request: BatchRequest) -> BatchResponse:
    text = " ".join(f"word{n}" for n in range(40))
    return BatchResponse(messages=[OutgoingMessage(text=f"{request.user.first_name}: {text}")])


def streaming(backend: ExampleBackend) -> None:
    backend.stream = True
    backend.seconds_per_piece = 0.05  # 41 pieces: about 2 s of writing
    backend.answerer = forty_words


async def test_a_streamed_answer_grows_as_a_throttled_draft_then_arrives_once(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    streaming(backend)
    settings = make_settings()
    assert settings.draft_updates_per_second == 2
    await product.start(settings)

    await telegram.person_says(IDA, "tell me something long")
    [final] = await telegram.wait_for_messages(IDA.id, 1)
    await wait_until_idle(redis)

    assert final.startswith("Ida: word0 word1") and final.endswith("word39")
    drafts = [d for d in telegram.drafts if d.chat_id == IDA.id]
    assert len(drafts) >= 3
    assert len({d.draft_id for d in drafts}) == 1
    texts = [d.text for d in drafts]
    assert all(later.startswith(earlier) for earlier, later in itertools.pairwise(texts))
    assert all(final.startswith(text) for text in texts)
    # The answer's drafts are throttled ("Thinking…", when it came before the first piece,
    # is not: the first piece replaces it at once).
    written = [draft for draft in drafts if draft.text]
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(written)]
    assert min(gaps) >= 0.45  # no more than about two a second
    [message] = [m for m in telegram.sent if m.chat_id == IDA.id]
    assert drafts[-1].at < message.at  # the final text comes after the last draft
    assert len(backend.calls) == 1


async def test_a_stream_cut_before_its_answer_is_asked_again_and_answered_once(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    streaming(backend)
    backend.cut_streams = 1
    caplog.set_level(logging.WARNING, logger="batchbot.worker")
    await product.start(make_settings())

    await telegram.person_says(IDA, "hello?")
    [final] = await telegram.wait_for_messages(IDA.id, 1)
    await wait_until_idle(redis)

    first, second = backend.received  # asked twice, with the same batch id
    assert first.batch_id == second.batch_id and len(backend.calls) == 1
    assert telegram.messages_to(IDA.id) == [final] and final.endswith("word39")
    # Said as it was: the stream broke off; the endpoint was reached, and 400 was no status.
    [retried] = [r.getMessage() for r in caplog.records if "retrying in" in r.getMessage()]
    assert "the backend's stream broke off after" in retried, retried
    assert "unreachable" not in retried and "400" not in retried
    # The draft grew during the first run only: the retry did not show it again from the start.
    drafts = [draft.text for draft in telegram.drafts if draft.chat_id == IDA.id]
    assert drafts, "the first run showed the answer growing"
    assert all(len(a) < len(b) for a, b in itertools.pairwise(drafts)), drafts
    assert final.startswith(drafts[-1])


async def test_refused_drafts_fall_back_to_typing_and_the_answer_arrives_once(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    streaming(backend)
    telegram.fail_next("sendMessageDraft", ForcedError(400, "Bad Request: method is unavailable"))
    await product.start(make_settings(typing_refresh_seconds=1))

    await telegram.person_says(IDA, "hi")
    await telegram.wait_for_messages(IDA.id, 1)
    await wait_until_idle(redis)

    assert telegram.drafts == []  # the one refused, then none tried
    assert len(telegram.messages_to(IDA.id)) == 1
    typing = [a for a in telegram.chat_actions if a.chat_id == IDA.id]
    assert len(typing) >= 2  # "typing…" came back while the answer was written
    assert len(backend.calls) == 1


async def test_a_worker_killed_mid_stream_asks_again_with_the_same_batch_id(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
    worker_processes: list[WorkerProcess],
) -> None:
    streaming(backend)
    backend.seconds_per_piece = 0.1  # about 4 s of writing: time to kill mid-stream
    settings = make_settings()
    await product.start_bot(settings)
    workers = await launch_together([WorkerProcess.start(settings) for _ in range(2)])
    worker_processes.extend(workers)

    await telegram.person_says(IDA, "tell me a story")
    async with asyncio.timeout(30):
        while not telegram.drafts:
            await asyncio.sleep(0.02)
    assert await (await the_claimer(workers)).stop(signal.SIGKILL) == -signal.SIGKILL

    [final] = await telegram.wait_for_messages(IDA.id, 1, timeout_seconds=30)
    await wait_until_idle(redis)
    first, second = backend.received
    assert first.batch_id == second.batch_id  # the same batch, asked again
    assert len(backend.calls) == 1  # only the second stream reached its answer
    assert telegram.messages_to(IDA.id) == [final] and final.endswith("word39")
