"""What a person was actually answered, for the load and failover tests.

With BATCH_SUPERSEDE a batch at the backend can be abandoned (the person wrote more):
the backend still sees, and may finish, that call, but its answer is never sent. So
"every message answered once" is counted over the calls whose answer the person got:
each answer carries its batch id (:func:`tagged`).
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter

from sandbox.example_backend import BackendCall, ExampleBackend, summarise
from sandbox.telegram_api import TelegramStandIn
from shared.models import BatchRequest, BatchResponse, OutgoingMessage


async def tagged(request: BatchRequest) -> BatchResponse:
    """One reply per batch, carrying the batch id, so a reply sent twice is recognised."""
    text = summarise(request).messages[0].text
    return BatchResponse(messages=[OutgoingMessage(text=f"[{request.batch_id}] {text}")])


def replies_by_batch(telegram: TelegramStandIn) -> Counter[str]:
    """Batch id → how many replies carrying it were sent."""
    return Counter(sent.text.split("]", 1)[0].lstrip("[") for sent in telegram.sent)


def answered_calls(backend: ExampleBackend, telegram: TelegramStandIn) -> list[BackendCall]:
    replied = replies_by_batch(telegram)
    return [call for call in backend.calls if call.batch_id in replied]


def answered_messages(calls: list[BackendCall]) -> Counter[tuple[int | str, object]]:
    """(person, message id) → in how many answered batches it was."""
    return Counter((c.request.user.id, m.message_id) for c in calls for m in c.request.messages)


async def wait_until_all_answered(
    backend: ExampleBackend, telegram: TelegramStandIn, total: int, timeout_seconds: float
) -> None:
    """Until the answers sent cover ``total`` distinct messages."""
    async with asyncio.timeout(timeout_seconds):
        while len(answered_messages(answered_calls(backend, telegram))) < total:
            await asyncio.sleep(0.05)


def overlapping(calls: list[BackendCall]) -> int:
    """Answered calls of one person that were at the backend at the same time."""
    count = 0
    by_person: dict[object, list[BackendCall]] = {}
    for call in calls:
        by_person.setdefault(call.request.user.id, []).append(call)
    for own in by_person.values():
        own.sort(key=lambda c: c.started_at)
        count += sum(1 for a, b in itertools.pairwise(own) if b.started_at < a.finished_at)
    return count
