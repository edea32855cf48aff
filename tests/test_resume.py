"""A re-run continues where the last run stopped: no second backend call, no repeated part."""

from __future__ import annotations

import asyncio
import contextlib
import signal

from redis.asyncio import Redis

from sandbox.example_backend import ExampleBackend
from sandbox.telegram_api import ForcedError, Person, TelegramStandIn
from shared import arq_layout
from shared.keys import ConversationKeys
from shared.models import BatchRequest, BatchResponse, OutgoingMessage
from tests.conftest import Product, SettingsFactory, three_parts, wait_until_idle
from worker.arq_seams import BatchWorker
from worker.options import worker_options

BO = Person(id=2002, first_name="Bo")


async def test_telegram_failing_mid_answer_resumes_from_the_first_unsent_part(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    backend.answerer = three_parts
    settings = make_settings()
    await product.start(settings)
    # Part 1 goes through; part 2 hits a Telegram outage, then a flood limit.
    telegram.fail_next("sendMessage", ForcedError(502, "Bad Gateway"), after_successes=1)
    telegram.fail_next("sendMessage", ForcedError(429, "Too Many Requests", retry_after=1))
    await telegram.person_says(BO, "tell me three things")

    await telegram.wait_for_messages(BO.id, 3)
    await wait_until_idle(redis)
    assert telegram.messages_to(BO.id) == ["part 1", "part 2", "part 3"]
    assert len(backend.calls) == 1
    assert backend.replayed == 0


async def test_a_backend_outage_is_retried_with_the_same_batch_id(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    settings = make_settings()
    await product.start(settings)
    await backend.stop()  # the backend is down when the batch is due

    await telegram.person_says(BO, "anyone home?")
    await telegram.person_says(BO, "hello?")
    # Wait until a worker has tried, failed and scheduled a retry of the claimed batch.
    job = arq_layout.batch_job_id(str(BO.id))
    async with asyncio.timeout(10):
        while not (
            await redis.exists(ConversationKeys(str(BO.id)).inflight)
            and await redis.exists(arq_layout.RETRY_KEY_PREFIX + job)
            and not await redis.exists(arq_layout.in_progress_key(job))
        ):
            await asyncio.sleep(0.02)
    await backend.start(port=backend.port)

    await telegram.wait_for_messages(BO.id, 1)
    await wait_until_idle(redis)
    assert len(backend.calls) == 1
    assert [m.text for m in backend.calls[0].request.messages] == ["anyone home?", "hello?"]


async def test_a_worker_stopped_mid_send_never_makes_the_next_one_repeat_the_part(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    backend.answerer = three_parts
    settings = make_settings()
    await product.start_bot(settings)
    stopping = BatchWorker(**worker_options(settings), handle_signals=False)
    running = asyncio.create_task(stopping.async_run())
    first_part = telegram.hold("sendMessage")
    await telegram.person_says(BO, "tell me three things")

    await first_part.arrived.wait()  # part 1 is on its way to Telegram
    stopping.handle_sig(signal.SIGTERM)  # the grace time is over: running jobs are cancelled
    first_part.release()
    with contextlib.suppress(asyncio.CancelledError):
        await running
    await stopping.close()
    await product.start_workers(settings)  # another worker takes the batch over

    await telegram.wait_for_messages(BO.id, 3)
    await wait_until_idle(redis)
    assert telegram.messages_to(BO.id) == ["part 1", "part 2", "part 3"]
    assert len(backend.calls) == 1


async def test_markup_telegram_refuses_is_sent_as_plain_text_once(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    async def formatted(request: BatchRequest) -> BatchResponse:
        return BatchResponse(
            messages=[
                OutgoingMessage(text="*broken bold", parse_mode="MarkdownV2"),
                OutgoingMessage(text="<b>fine</b>", parse_mode="HTML"),
            ]
        )

    backend.answerer = formatted
    telegram.fail_next(
        "sendMessage",
        ForcedError(400, "Bad Request: can't parse entities: Can't find end of the entity"),
    )
    settings = make_settings()
    await product.start(settings)

    await telegram.person_says(BO, "format something")
    await telegram.wait_for_messages(BO.id, 2)
    await wait_until_idle(redis)
    assert [(m.text, m.parse_mode) for m in telegram.sent] == [
        ("*broken bold", None),
        ("<b>fine</b>", "HTML"),
    ]
    assert len(backend.calls) == 1
