"""The answer's life as Telegram shows it (Bot API 10.0-10.3): "Thinking…" until the first
piece, a Stop button on the draft that cancels the backend call, and, with
DRAFT_KEEP_ON_STOP, exactly what was written kept in the chat and the history."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from sandbox.example_backend import ExampleBackend
from sandbox.telegram_api import Person, TelegramStandIn
from shared.keys import ConversationKeys
from shared.models import BatchRequest, BatchResponse, OutgoingMessage, Turn
from tests.conftest import Product, SettingsFactory, wait_until_idle
from worker import progress

ZOE = Person(id=8902, first_name="Zoe")
LONG = " ".join(f"word{n}" for n in range(60))


async def sixty_words(request: BatchRequest) -> BatchResponse:
    return BatchResponse(messages=[OutgoingMessage(text=LONG)])


def writing_slowly(backend: ExampleBackend) -> None:
    """About 12 s to write the whole answer: long enough to press Stop in the middle."""
    backend.stream = True
    backend.seconds_per_piece = 0.2
    backend.answerer = sixty_words


async def drafts_with_text(telegram: TelegramStandIn, count: int) -> list[str]:
    """Wait until the person has seen ``count`` drafts with text in them."""
    async with asyncio.timeout(20):
        while len(texts := [d.text for d in telegram.drafts if d.text]) < count:
            await asyncio.sleep(0.05)
    return texts


def stopped_count() -> float:
    """``batchbot_batches_total{outcome="stopped"}`` of this process's workers."""
    labels = {"channel": "telegram", "outcome": "stopped"}
    return REGISTRY.get_sample_value("batchbot_batches_total", labels) or 0.0


async def history_of(redis: Redis, person: Person) -> list[Turn]:
    raw = await redis.lrange(ConversationKeys(str(person.id)).history, 0, -1)  # type: ignore[misc]
    return [Turn.model_validate_json(item) for item in raw]


async def test_thinking_shows_until_the_first_piece_and_is_renewed_while_the_backend_thinks(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(progress, "THINKING_RENEW_SECONDS", 0.4)  # Telegram's ~30 s, shortened
    backend.stream, backend.delay_seconds = True, 3.0  # thinks, then writes
    backend.seconds_per_piece = 0.02
    backend.answerer = sixty_words
    await product.start(make_settings())

    await telegram.person_says(ZOE, "what do you think?")
    [final] = await telegram.wait_for_messages(ZOE.id, 1)
    await wait_until_idle(redis)

    drafts = [d for d in telegram.drafts if d.chat_id == ZOE.id]
    thinking = [d for d in drafts if d.text == ""]
    assert drafts[0].text == ""  # "Thinking…" first, before any piece of the answer
    assert len(thinking) >= 3  # sent again while the backend had not begun to write
    first_text = next(index for index, draft in enumerate(drafts) if draft.text)
    assert all(draft.text for draft in drafts[first_text:])  # never back to "Thinking…"
    assert all(draft.can_stop and not draft.keep_on_stop for draft in drafts)
    assert final == LONG and len(backend.calls) == 1


async def test_stop_closes_the_backend_stream_at_once_and_nothing_more_is_sent(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    writing_slowly(backend)
    before = stopped_count()
    await product.start(make_settings(history_turns=10))

    await telegram.person_says(ZOE, "write me an essay")
    await drafts_with_text(telegram, 2)
    pressed = time.monotonic()
    await telegram.press_stop(ZOE, telegram.drafts[-1].draft_id)
    async with asyncio.timeout(5):
        while not backend.closed_streams:
            await asyncio.sleep(0.02)
    await wait_until_idle(redis)

    [closed_at] = backend.closed_streams.values()
    assert closed_at - pressed < 1.0  # the backend's connection closed within a second
    assert telegram.messages_to(ZOE.id) == []  # nothing of the answer is sent
    drafts_after = [d for d in telegram.drafts if d.at > closed_at]
    assert drafts_after == []
    assert backend.calls == []  # the backend never finished an answer
    assert stopped_count() == before + 1
    assert await history_of(redis, ZOE) == []


async def test_keep_on_stop_leaves_exactly_the_partial_text_in_the_chat_and_the_history(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    writing_slowly(backend)
    await product.start(make_settings(history_turns=10, draft_keep_on_stop=True))

    await telegram.person_says(ZOE, "write me an essay")
    await drafts_with_text(telegram, 3)
    await telegram.press_stop(ZOE, telegram.drafts[-1].draft_id)
    [kept] = await telegram.wait_for_messages(ZOE.id, 1)
    await wait_until_idle(redis)

    assert telegram.drafts[-1].keep_on_stop
    assert kept and LONG.startswith(kept) and kept != LONG  # the partial text, as written
    user, assistant = await history_of(redis, ZOE)
    assert user.role == "user" and user.text == "write me an essay"
    assert assistant.role == "assistant" and assistant.text == kept
    assert telegram.messages_to(ZOE.id) == [kept]  # idle: the batch was released with that


async def test_a_stop_after_the_answer_was_sent_changes_nothing_and_is_logged_once(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    backend.stream, backend.seconds_per_piece, backend.answerer = True, 0.0, sixty_words
    caplog.set_level(logging.INFO, logger="batchbot.bot")
    before = stopped_count()
    await product.start(make_settings(history_turns=10))

    await telegram.person_says(ZOE, "quick one")
    [answer] = await telegram.wait_for_messages(ZOE.id, 1)
    await wait_until_idle(redis)
    await telegram.press_stop(ZOE, telegram.drafts[-1].draft_id)
    await telegram.press_stop(ZOE, 424242)  # a draft this bot never showed
    async with asyncio.timeout(10):
        while (
            len(
                lines := [
                    r.getMessage() for r in caplog.records if "Stop pressed" in r.getMessage()
                ]
            )
            < 2
        ):
            await asyncio.sleep(0.05)

    assert all("nothing changes" in line for line in lines), lines
    assert len(lines) == 2  # one line per press
    assert telegram.messages_to(ZOE.id) == [answer]
    assert stopped_count() == before
    assert [turn.text for turn in await history_of(redis, ZOE)] == ["quick one", answer]
