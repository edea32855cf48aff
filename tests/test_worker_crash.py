"""A worker killed with SIGKILL at any step of a batch: the batch is finished by another
worker within 15 s of the kill, with default settings (ARQ alone would wait for its lock:
WORKER_JOB_TIMEOUT_SECONDS + 10 s = 100 s), the backend is not asked again once its
answer is stored, and no part is sent twice but the one on the wire at the kill. A
worker that stalls (SIGSTOP) and wakes after the takeover sends nothing more.

Workers run as separate processes here; the replacement is started before the kill.
"""

from __future__ import annotations

import asyncio
import signal

from redis.asyncio import Redis

from sandbox.example_backend import ExampleBackend
from sandbox.telegram_api import Person, TelegramStandIn
from tests.conftest import Product, SettingsFactory, WorkerProcess, three_parts, wait_until_idle
from tests.crashes import kill_at, the_claimer, two_workers
from worker.settings import WorkerProcessSettings

EVE = Person(id=6006, first_name="Eve")


RECOVERY_SECONDS = 15
"""The promise: a killed worker's batch is answered within this long of the kill."""


def default_recovery(make_settings: SettingsFactory) -> WorkerProcessSettings:
    settings = make_settings()
    assert settings.worker_job_timeout_seconds == 90  # ARQ's own recovery: 100 s
    return settings


async def test_killed_after_claiming_before_the_backend_call(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
    worker_processes: list[WorkerProcess],
) -> None:
    backend.answerer = three_parts
    settings = default_recovery(make_settings)
    await product.start_bot(settings)
    typing = telegram.hold("sendChatAction")  # shown right after the claim

    kill = asyncio.create_task(kill_at(typing, settings, worker_processes))
    await telegram.person_says(EVE, "hello")
    await kill

    await telegram.wait_for_messages(EVE.id, 3, timeout_seconds=RECOVERY_SECONDS)
    await wait_until_idle(redis, timeout_seconds=30)
    assert telegram.messages_to(EVE.id) == ["part 1", "part 2", "part 3"]
    assert len(backend.calls) == 1


async def test_killed_while_the_backend_is_answering(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
    worker_processes: list[WorkerProcess],
) -> None:
    backend.answerer = three_parts
    backend.delay_seconds = 1.0
    settings = default_recovery(make_settings)
    await product.start_bot(settings)

    workers = await two_workers(settings, worker_processes)
    await telegram.person_says(EVE, "hello")
    await backend.wait_for_received(1)
    await (await the_claimer(workers)).stop(signal.SIGKILL)

    await telegram.wait_for_messages(EVE.id, 3, timeout_seconds=RECOVERY_SECONDS)
    await wait_until_idle(redis, timeout_seconds=30)
    assert telegram.messages_to(EVE.id) == ["part 1", "part 2", "part 3"]
    # The answer died with the worker; the retry carried the same batch id, so the
    # backend answered it from its idempotency store instead of running the model again.
    assert len(backend.calls) == 1
    assert backend.replayed == 1


async def test_killed_between_two_sent_parts(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
    worker_processes: list[WorkerProcess],
) -> None:
    backend.answerer = three_parts
    settings = default_recovery(make_settings)
    await product.start_bot(settings)
    # Typing is shown after the claim and before each further part: the second
    # typing comes after part 1 was sent and marked, with the answer stored.
    before_part_2 = telegram.hold("sendChatAction", after_calls=1)

    kill = asyncio.create_task(kill_at(before_part_2, settings, worker_processes))
    await telegram.person_says(EVE, "hello")
    await kill

    await telegram.wait_for_messages(EVE.id, 3, timeout_seconds=RECOVERY_SECONDS)
    await wait_until_idle(redis, timeout_seconds=30)
    assert telegram.messages_to(EVE.id) == ["part 1", "part 2", "part 3"]
    assert len(backend.received) == 1


async def test_killed_with_the_answer_stored_and_its_first_part_on_the_wire(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
    worker_processes: list[WorkerProcess],
) -> None:
    backend.answerer = three_parts
    settings = default_recovery(make_settings)
    await product.start_bot(settings)
    on_the_wire = telegram.hold("sendMessage")  # part 1 reached Telegram; not yet marked

    kill = asyncio.create_task(kill_at(on_the_wire, settings, worker_processes))
    await telegram.person_says(EVE, "hello")
    await kill

    await telegram.wait_for_messages(EVE.id, 4, timeout_seconds=RECOVERY_SECONDS)
    await wait_until_idle(redis, timeout_seconds=30)
    # The one limit no bot can remove: Telegram has no idempotency key, so the part that
    # was on its way at the instant of the kill is sent again. Nothing else is.
    assert telegram.messages_to(EVE.id) == ["part 1", "part 1", "part 2", "part 3"]
    assert len(backend.received) == 1  # the stored answer was used, not asked for again


async def test_a_stalled_worker_that_wakes_after_the_takeover_sends_nothing_more(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
    worker_processes: list[WorkerProcess],
) -> None:
    backend.answerer = three_parts
    settings = default_recovery(make_settings)
    await product.start_bot(settings)
    before_part_2 = telegram.hold("sendChatAction", after_calls=1)

    workers = await two_workers(settings, worker_processes)
    await telegram.person_says(EVE, "hello")
    await before_part_2.arrived.wait()
    stalled = await the_claimer(workers)
    stalled.send_signal(signal.SIGSTOP)
    before_part_2.release()

    await telegram.wait_for_messages(EVE.id, 3, timeout_seconds=RECOVERY_SECONDS)
    stalled.send_signal(signal.SIGCONT)
    await stalled.wait_for_log(b"taken over by another worker")
    await wait_until_idle(redis, timeout_seconds=30)
    assert telegram.messages_to(EVE.id) == ["part 1", "part 2", "part 3"]
    assert len(backend.received) == 1


async def test_sigterm_lets_a_running_batch_finish_before_the_worker_exits(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
    worker_processes: list[WorkerProcess],
) -> None:
    backend.delay_seconds = 1.5
    settings = make_settings()
    await product.start_bot(settings)
    worker = await WorkerProcess.start(settings)
    worker_processes.append(worker)

    await telegram.person_says(EVE, "one last thing before the deploy")
    await backend.wait_for_received(1)
    assert await worker.stop(signal.SIGTERM) == 0  # returns once the worker has exited

    assert len(telegram.messages_to(EVE.id)) == 1  # answered before it exited
    await wait_until_idle(redis)
    assert len(backend.calls) == 1
