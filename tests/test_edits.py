"""Edited messages: an edit replaces the pending message; after the batch went, it is ignored."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from sandbox.example_backend import ExampleBackend
from sandbox.peek import pending_messages
from sandbox.telegram_api import Person, TelegramStandIn
from tests.conftest import Product, SettingsFactory, wait_until_idle

LEO = Person(id=8208, first_name="Leo")


async def test_an_edit_before_the_batch_goes_replaces_the_message_and_after_is_ignored(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    settings = make_settings(batch_window_seconds=1.5)
    await product.start(settings)
    original = await telegram.person_says(LEO, "meet at 5")
    await telegram.person_says(LEO, "ok?")
    async with asyncio.timeout(30):
        while len(await pending_messages(redis, str(LEO.id))) < 2:
            await asyncio.sleep(0.02)
    await telegram.deliver(telegram.edit(original, "meet at 6"))
    async with asyncio.timeout(30):  # the edit does not move the batch's deadline
        while (await pending_messages(redis, str(LEO.id)))[0].text != "meet at 6":
            await asyncio.sleep(0.02)
    await telegram.wait_for_messages(LEO.id, 1)
    await wait_until_idle(redis)
    assert [request.text for request in backend.received] == ["meet at 6\nok?"]

    late_edit = telegram.edit(original, "meet at 7")
    follow_up = telegram.compose(LEO, "thanks")
    await telegram.deliver(late_edit, follow_up)
    await telegram.wait_for_messages(LEO.id, 2)
    await wait_until_idle(redis)
    assert [request.text for request in backend.received] == ["meet at 6\nok?", "thanks"]
