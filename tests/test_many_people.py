"""Two workers and twenty people typing at once: every message in exactly one batch."""

from __future__ import annotations

import asyncio
import random
from collections import Counter, defaultdict

from redis.asyncio import Redis

from sandbox.example_backend import ExampleBackend
from sandbox.telegram_api import Person, TelegramStandIn
from shared.models import MessageId
from tests.answered import (
    answered_calls,
    overlapping,
    replies_by_batch,
    tagged,
    wait_until_all_answered,
)
from tests.conftest import Product, SettingsFactory, wait_until_idle

PEOPLE = [Person(id=5000 + n, first_name=f"Person{n}") for n in range(20)]


async def burst(telegram: TelegramStandIn, person: Person, rng: random.Random) -> list[int]:
    """A person's burst: 3 to 8 messages, sometimes pausing longer than the window."""
    message_ids = []
    for n in range(rng.randint(3, 8)):
        update = await telegram.person_says(person, f"{person.first_name} says {n}")
        message_ids.append(update["message"]["message_id"])
        await asyncio.sleep(rng.choice([0.0, 0.05, 0.1, 0.5]))
    return message_ids


async def test_twenty_people_two_workers_every_message_once_no_overlap(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    """A message during a batch's backend call supersedes it (BATCH_SUPERSEDE): the backend
    sees that call, but only the batches whose answer the person got count (tagged)."""
    backend.delay_seconds = 0.2
    backend.answerer = tagged
    settings = make_settings(batch_window_seconds=0.3, batch_max_messages=5)
    await product.start_bot(settings)
    await product.start_workers(settings, count=2)

    rng = random.Random(20261122)
    sent = await asyncio.gather(*(burst(telegram, p, random.Random(rng.random())) for p in PEOPLE))
    total = sum(len(ids) for ids in sent)

    await wait_until_all_answered(backend, telegram, total, timeout_seconds=60)
    await wait_until_idle(redis)

    answered = answered_calls(backend, telegram)
    delivered: dict[int | str, list[MessageId]] = defaultdict(list)
    for call in answered:
        assert call.message_ids == sorted(call.message_ids)
        assert len(call.message_ids) <= 5
        delivered[call.request.user.id].extend(call.message_ids)
    for person, message_ids in zip(PEOPLE, sent, strict=True):
        assert Counter(delivered[person.id]) == Counter(message_ids), person
    assert overlapping(answered) == 0
    assert max(replies_by_batch(telegram).values()) == 1
    batches_per_chat = Counter(call.request.chat.id for call in answered)
    for person in PEOPLE:
        assert len(telegram.messages_to(person.id)) == batches_per_chat[person.id]
