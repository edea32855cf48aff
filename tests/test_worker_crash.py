"""A worker killed with SIGKILL at any step of a batch: the batch is finished by another
worker, the backend is not asked again once its answer is stored, and no part is sent twice.

Workers run as separate processes here. Recovery waits for ARQ's lock on the killed
worker's job to expire (WORKER_JOB_TIMEOUT_SECONDS + 10 s), so each test takes ~15 s.
"""

from __future__ import annotations

import signal

from redis.asyncio import Redis

from sandbox.example_backend import ExampleBackend
from sandbox.telegram_api import Hold, Person, TelegramStandIn
from tests.conftest import Product, SettingsFactory, WorkerProcess, three_parts, wait_until_idle
from worker.settings import WorkerProcessSettings

EVE = Person(id=6006, first_name="Eve")


def fast_recovery(make_settings: SettingsFactory) -> WorkerProcessSettings:
    return make_settings(
        backend_timeout_seconds=2, telegram_timeout_seconds=2, worker_job_timeout_seconds=5
    )


async def kill_at(
    held: Hold,
    settings: WorkerProcessSettings,
    worker_processes: list[WorkerProcess],
) -> None:
    """Start a worker, SIGKILL it when it reaches the held call, then start a replacement."""
    doomed = await WorkerProcess.start(settings)
    worker_processes.append(doomed)
    await held.arrived.wait()
    assert await doomed.stop(signal.SIGKILL) == -signal.SIGKILL
    held.release()
    worker_processes.append(await WorkerProcess.start(settings))


async def test_killed_after_claiming_before_the_backend_call(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
    worker_processes: list[WorkerProcess],
) -> None:
    backend.answerer = three_parts
    settings = fast_recovery(make_settings)
    await product.start_bot(settings)
    typing = telegram.hold("sendChatAction")  # shown right after the claim

    await telegram.person_says(EVE, "hello")
    await kill_at(typing, settings, worker_processes)

    await telegram.wait_for_messages(EVE.id, 3, timeout_seconds=60)
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
    settings = fast_recovery(make_settings)
    await product.start_bot(settings)

    await telegram.person_says(EVE, "hello")
    doomed = await WorkerProcess.start(settings)
    worker_processes.append(doomed)
    await backend.wait_for_received(1)
    await doomed.stop(signal.SIGKILL)
    worker_processes.append(await WorkerProcess.start(settings))

    await telegram.wait_for_messages(EVE.id, 3, timeout_seconds=60)
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
    settings = fast_recovery(make_settings)
    await product.start_bot(settings)
    # Typing is shown after the claim and before each further part: the second
    # typing comes after part 1 was sent and marked, with the answer stored.
    before_part_2 = telegram.hold("sendChatAction", after_calls=1)

    await telegram.person_says(EVE, "hello")
    await kill_at(before_part_2, settings, worker_processes)

    await telegram.wait_for_messages(EVE.id, 3, timeout_seconds=60)
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
