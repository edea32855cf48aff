"""A burst becomes one batch and one answer, end to end through real parts."""

from __future__ import annotations

from redis.asyncio import Redis

from sandbox.example_backend import ExampleBackend
from sandbox.telegram_api import Person, TelegramStandIn
from tests.conftest import Product, SettingsFactory, wait_until_idle

ANA = Person(id=1001, first_name="Ana", username="ana", language_code="es")


async def test_three_quick_messages_make_one_batch_and_one_reply(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    settings = make_settings(batch_window_seconds=0.5)
    await product.start_bot(settings)
    await product.start_workers(settings)

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
