"""A burst becomes one batch and one answer, end to end through real parts."""

from __future__ import annotations

import asyncio
import time

from prometheus_client import REGISTRY
from redis.asyncio import Redis

from sandbox.example_backend import ExampleBackend
from sandbox.telegram_api import Person, TelegramStandIn
from shared.store import EARLY_CLAIM_TOLERANCE_MS
from tests.conftest import Product, SettingsFactory, wait_until_idle

ANA = Person(id=1001, first_name="Ana", username="ana", language_code="es")


def batches_counted(outcome: str) -> float:
    """This process's workers' count of Telegram batch runs with that outcome."""
    labels = {"channel": "telegram", "outcome": outcome}
    return REGISTRY.get_sample_value("batchbot_batches_total", labels) or 0.0


async def test_three_quick_messages_make_one_batch_and_one_reply(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    settings = make_settings(batch_window_seconds=0.5)
    await product.start(settings)

    for text in ("hi", "can I book", "a haircut"):
        await telegram.person_says(ANA, text)

    replies = await telegram.wait_for_messages(ANA.id, 1)
    await wait_until_idle(redis)

    assert len(backend.calls) == 1
    call = backend.calls[0]
    assert [m.text for m in call.request.messages] == ["hi", "can I book", "a haircut"]
    assert call.request.text == "hi\ncan I book\na haircut"
    assert call.request.user.first_name == "Ana"
    assert call.idempotency_key == call.batch_id
    assert replies == [telegram.messages_to(ANA.id)[0]]
    assert "3 message(s)" in replies[0]
    assert await redis.keys("batch:*") == []


async def test_each_message_resets_the_timer(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    window = 1.0
    settings = make_settings(batch_window_seconds=window)
    await product.start(settings)

    first_sent = time.monotonic()
    await telegram.person_says(ANA, "hi")
    await asyncio.sleep(0.6 * window)  # the person's own pace: 0, 0.6 W, 1.2 W
    await telegram.person_says(ANA, "can I book")
    await asyncio.sleep(0.6 * window)
    await telegram.person_says(ANA, "a haircut")
    last_sent = time.monotonic()

    await telegram.wait_for_messages(ANA.id, 1)
    await wait_until_idle(redis)

    assert len(backend.calls) == 1
    assert [m.text for m in backend.calls[0].request.messages] == ["hi", "can I book", "a haircut"]
    started = backend.calls[0].started_at
    # The deadline followed the last message, not the first (which was 1.2 W earlier).
    assert started >= last_sent + window - EARLY_CLAIM_TOLERANCE_MS / 1000
    assert started > first_sent + 2 * window


async def test_a_pause_longer_than_the_window_makes_two_batches(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    window = 0.5
    settings = make_settings(batch_window_seconds=window)
    await product.start(settings)

    sent_at = time.monotonic()
    await telegram.person_says(ANA, "hi")
    await backend.wait_for_received(1)
    assert time.monotonic() - sent_at >= window - EARLY_CLAIM_TOLERANCE_MS / 1000
    await telegram.wait_for_messages(ANA.id, 1)  # answered: the next message is a new burst
    await telegram.person_says(ANA, "are you there?")

    await telegram.wait_for_messages(ANA.id, 2)
    await wait_until_idle(redis)
    assert [[m.text for m in c.request.messages] for c in backend.calls] == [
        ["hi"],
        ["are you there?"],
    ]


async def test_reaching_max_messages_runs_the_batch_at_once(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    # A window of a minute: only the size rule can make this batch run within the test.
    settings = make_settings(
        batch_window_seconds=60, batch_max_wait_seconds=120, batch_max_messages=3
    )
    await product.start(settings)

    for text in ("one", "two", "three"):
        await telegram.person_says(ANA, text)
    await telegram.wait_for_messages(ANA.id, 1, timeout_seconds=10)
    await wait_until_idle(redis, timeout_seconds=10)

    assert [[m.text for m in c.request.messages] for c in backend.calls] == [
        ["one", "two", "three"]
    ]


async def test_max_wait_answers_a_person_who_never_pauses(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    window, max_wait, gap = 1.0, 2.0, 0.4
    settings = make_settings(batch_window_seconds=window, batch_max_wait_seconds=max_wait)
    await product.start(settings)

    first_sent = time.monotonic()
    texts = [f"part {n}" for n in range(12)]  # 12 messages, 0.4 s apart: never a 1 s pause
    for text in texts:
        await telegram.person_says(ANA, text)
        await asyncio.sleep(gap)
    last_sent = time.monotonic() - gap

    await backend.wait_for_answered_messages(len(texts))
    await wait_until_idle(redis)
    first_call = backend.calls[0]
    # The first batch started while the person was still typing, bounded by max wait.
    assert first_call.started_at < last_sent
    assert first_call.started_at >= first_sent + max_wait - EARLY_CLAIM_TOLERANCE_MS / 1000
    delivered = [m.text for c in backend.calls for m in c.request.messages]
    assert delivered == texts
    assert len(backend.calls) >= 2


async def test_messages_during_a_slow_backend_call_supersede_it_one_answer_to_all(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    """BATCH_SUPERSEDE (on by default): "a haircut" comes while "hi / can I book" is at the
    backend, before any part of its answer went. That call is abandoned (its answer, when
    it comes, is dropped) and one batch of all four messages is answered, once."""
    backend.delay_seconds = 1.0
    settings = make_settings(batch_window_seconds=0.3)
    await product.start_bot(settings)
    await product.start_workers(settings, count=2)
    superseded_before = batches_counted("superseded")

    await telegram.person_says(ANA, "hi")
    await telegram.person_says(ANA, "can I book")
    await backend.wait_for_received(1)
    await telegram.person_says(ANA, "a haircut")
    await telegram.person_says(ANA, "tomorrow?")

    [answer] = await telegram.wait_for_messages(ANA.id, 1)
    await wait_until_idle(redis)
    await backend.wait_for_answered(2)  # the abandoned call was answered too, at the backend
    first, second = backend.received
    assert [m.text for m in first.messages] == ["hi", "can I book"]
    assert [m.text for m in second.messages] == ["hi", "can I book", "a haircut", "tomorrow?"]
    assert second.batch_id != first.batch_id
    assert "4 message(s)" in answer
    assert telegram.messages_to(ANA.id) == [answer]  # that answer was never sent
    assert batches_counted("superseded") == superseded_before + 1


async def test_without_supersede_messages_during_a_backend_call_form_the_next_batch(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    backend.delay_seconds = 1.0
    settings = make_settings(batch_window_seconds=0.3, batch_supersede=False)
    await product.start_bot(settings)
    await product.start_workers(settings, count=2)

    await telegram.person_says(ANA, "hi")
    await telegram.person_says(ANA, "can I book")
    await backend.wait_for_received(1)
    await telegram.person_says(ANA, "a haircut")
    await telegram.person_says(ANA, "tomorrow?")

    await telegram.wait_for_messages(ANA.id, 2)
    await wait_until_idle(redis)
    assert [[m.text for m in c.request.messages] for c in backend.calls] == [
        ["hi", "can I book"],
        ["a haircut", "tomorrow?"],
    ]
    assert backend.overlaps == 0
    assert backend.calls[1].started_at >= backend.calls[0].finished_at


async def test_the_same_update_delivered_twice_is_stored_once(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    settings = make_settings()
    await product.start(settings)

    hello = telegram.compose(ANA, "hello")
    again = telegram.compose(ANA, "again")
    await telegram.deliver(hello, again, hello)

    await telegram.wait_for_messages(ANA.id, 1)
    await wait_until_idle(redis)
    assert [[m.text for m in c.request.messages] for c in backend.calls] == [["hello", "again"]]


async def test_messages_are_ordered_by_message_id_whatever_the_arrival_order(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    settings = make_settings()
    await product.start(settings)

    updates = [telegram.compose(ANA, text) for text in ("first", "second", "third")]
    await telegram.deliver(*reversed(updates))

    await telegram.wait_for_messages(ANA.id, 1)
    await wait_until_idle(redis)
    assert [m.text for m in backend.calls[0].request.messages] == ["first", "second", "third"]


async def test_the_same_person_can_burst_again_right_after_an_answer(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    settings = make_settings(batch_window_seconds=0.3)
    await product.start(settings)

    await telegram.person_says(ANA, "hi")
    await telegram.wait_for_messages(ANA.id, 1)
    await telegram.person_says(ANA, "one more thing")
    await telegram.person_says(ANA, "thanks")

    await telegram.wait_for_messages(ANA.id, 2)
    await wait_until_idle(redis)
    assert [[m.text for m in c.request.messages] for c in backend.calls] == [
        ["hi"],
        ["one more thing", "thanks"],
    ]
    assert await redis.keys("arq:result:*") == []
