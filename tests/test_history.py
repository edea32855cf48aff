"""Conversation memory (HISTORY_TURNS): each request carries the conversation's earlier
turns, what the person wrote and what was actually delivered, oldest first; /clear
forgets them; a batch resumed after its worker was SIGKILLed is remembered once; the
turns kept stay within HISTORY_TURNS and HISTORY_MAX_BYTES."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from sandbox.example_backend import ExampleBackend
from sandbox.telegram_api import Person, TelegramStandIn
from shared.keys import ConversationKeys
from shared.models import BatchRequest, BatchResponse, OutgoingMessage
from tests.conftest import Product, SettingsFactory, WorkerProcess, three_parts, wait_until_idle
from tests.crashes import kill_at

UMA = Person(id=8901, first_name="Uma")


async def echo(request: BatchRequest) -> BatchResponse:
    return BatchResponse(messages=[OutgoingMessage(text=f"you said: {request.text}")])


def turns(request: BatchRequest) -> list[tuple[str, str]]:
    return [(turn.role, turn.text) for turn in request.history or []]


async def say_and_wait(telegram: TelegramStandIn, text: str, replies: int) -> None:
    await telegram.person_says(UMA, text)
    await telegram.wait_for_messages(UMA.id, replies)


async def test_turns_build_up_across_batches_and_clear_forgets_them(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    backend.answerer = echo
    await product.start(make_settings(history_turns=4))

    await say_and_wait(telegram, "first", 1)
    await say_and_wait(telegram, "second", 2)
    await say_and_wait(telegram, "third", 3)
    await wait_until_idle(redis)
    assert [turns(call.request) for call in backend.calls] == [
        [],
        [("user", "first"), ("assistant", "you said: first")],
        [
            ("user", "first"),
            ("assistant", "you said: first"),
            ("user", "second"),
            ("assistant", "you said: second"),
        ],
    ]
    history_key = ConversationKeys(str(UMA.id)).history
    assert await redis.llen(history_key) == 4  # type: ignore[misc]  # HISTORY_TURNS
    assert 0 < await redis.ttl(history_key) <= 7 * 86400

    await say_and_wait(telegram, "/clear", 4)
    await say_and_wait(telegram, "fourth", 5)
    await wait_until_idle(redis)
    assert turns(backend.calls[-1].request) == []


async def test_history_is_off_by_default_and_absent_from_the_request(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    await product.start(make_settings())
    await say_and_wait(telegram, "one", 1)
    await say_and_wait(telegram, "two", 2)
    await wait_until_idle(redis)
    assert all(call.request.history is None for call in backend.calls)
    assert b'"history"' not in backend.raw_requests[-1].body
    assert not await redis.exists(ConversationKeys(str(UMA.id)).history)


async def test_a_batch_resumed_after_a_kill_is_remembered_once(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
    worker_processes: list[WorkerProcess],
) -> None:
    backend.answerer = three_parts
    settings = make_settings(history_turns=10)
    await product.start_bot(settings)
    before_part_2 = telegram.hold("sendChatAction", after_calls=1)
    kill = asyncio.create_task(kill_at(before_part_2, settings, worker_processes))
    await say_and_wait(telegram, "hello", 0)
    await kill
    await telegram.wait_for_messages(UMA.id, 3, timeout_seconds=30)

    await say_and_wait(telegram, "again", 4)
    await wait_until_idle(redis)
    assert turns(backend.calls[-1].request) == [
        ("user", "hello"),
        ("assistant", "part 1\npart 2\npart 3"),
    ]


async def test_the_oldest_turns_go_first_past_the_byte_bound(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    backend.answerer = echo
    await product.start(make_settings(history_turns=50, history_max_bytes=1024))
    for n in range(4):
        await say_and_wait(telegram, f"{n} " + "x" * 200, n + 1)
    await wait_until_idle(redis)
    kept = await redis.lrange(ConversationKeys(str(UMA.id)).history, 0, -1)  # type: ignore[misc]
    assert sum(len(turn) for turn in kept) <= 1024
    assert kept and b'"3 xxx' in kept[-2] and b"you said: 3 xxx" in kept[-1]
    assert not any(b'"0 xxx' in turn for turn in kept)  # the oldest went first
