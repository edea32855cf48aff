"""The person adds more before the answer (BATCH_SUPERSEDE), at the edges: once a part of
the answer went, the old rule (the next batch) holds; a worker killed while its batch is
superseded loses nothing and the burst is answered once. The plain case is in
``test_core_flow``."""

from __future__ import annotations

import signal

from redis.asyncio import Redis

from sandbox.example_backend import ExampleBackend
from sandbox.telegram_api import Person, TelegramStandIn
from tests.conftest import (
    Product,
    SettingsFactory,
    WorkerProcess,
    three_parts,
    wait_until_idle,
)
from tests.crashes import the_claimer

ANA = Person(id=1001, first_name="Ana")


async def test_a_message_after_the_first_part_went_gets_its_own_answer(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    """Parts 2 and 3 come paced (as if typed), so "and for two?" arrives while the answer
    is going out: that answer is finished, and the new message is a batch of its own."""
    backend.answerer = three_parts
    settings = make_settings(reply_pacing_seconds_per_character=1.0, reply_pacing_max_seconds=1.0)
    await product.start(settings)

    await telegram.person_says(ANA, "a table tonight?")
    await telegram.wait_for_messages(ANA.id, 1)
    await telegram.person_says(ANA, "and for two?")

    await telegram.wait_for_messages(ANA.id, 6)
    await wait_until_idle(redis)
    assert telegram.messages_to(ANA.id) == ["part 1", "part 2", "part 3"] * 2
    assert [[m.text for m in call.request.messages] for call in backend.calls] == [
        ["a table tonight?"],
        ["and for two?"],
    ]


async def test_a_worker_killed_while_its_batch_is_superseded_loses_nothing_answers_once(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
    worker_processes: list[WorkerProcess],
) -> None:
    """The worker dies with "book me at 5" at the backend; "actually 6" supersedes that
    batch; the worker that takes the dead one's batch over drops it, and one batch of
    both messages is answered, once."""
    backend.delay_seconds = 1.0
    settings = make_settings()
    await product.start_bot(settings)
    workers = [await WorkerProcess.start(settings) for _ in range(2)]
    worker_processes.extend(workers)

    await telegram.person_says(ANA, "book me at 5")
    await backend.wait_for_received(1)
    assert await (await the_claimer(workers)).stop(signal.SIGKILL) == -signal.SIGKILL
    await telegram.person_says(ANA, "actually 6")

    [answer] = await telegram.wait_for_messages(ANA.id, 1, timeout_seconds=30)
    await wait_until_idle(redis)
    last = backend.received[-1]
    assert [m.text for m in last.messages] == ["book me at 5", "actually 6"]
    assert "2 message(s)" in answer
    assert telegram.messages_to(ANA.id) == [answer]
    assert [len(c.request.messages) for c in backend.calls if c.batch_id == last.batch_id] == [2]
