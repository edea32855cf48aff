"""Decisions about a batch: how long a retry waits, whether a group batch is for the bot
at all, and whether its channel lets it be answered now (``ChannelAdapter.prepare``)."""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass

from redis.asyncio import Redis

from channels.adapter import ChannelAdapter
from shared.states import BatchOutcome
from shared.store import ClaimedBatch
from worker.settings import WorkerProcessSettings


def backoff_seconds(settings: WorkerProcessSettings, job_try: int) -> float:
    """Exponential back-off with jitter, so retries of many batches do not arrive together."""
    ceiling = min(
        settings.backend_retry_max_seconds,
        settings.backend_retry_base_seconds * 2 ** max(0, job_try - 1),
    )
    return random.uniform(ceiling / 2, ceiling)


def meant_for_the_bot(settings: WorkerProcessSettings, batch: ClaimedBatch) -> bool:
    """Private chats always; groups when a message of the batch mentions or replies to the
    bot, unless GROUP_ANSWER_WHEN is 'always'."""
    if batch.request.chat.type == "private" or settings.group_answer_when == "always":
        return True
    return any(message.addresses_bot for message in batch.request.messages)


@dataclass(frozen=True, slots=True)
class NotAnswered:
    outcome: BatchOutcome
    reason: str


async def answerable(
    settings: WorkerProcessSettings,
    redis: Redis,
    batch: ClaimedBatch,
    adapter: ChannelAdapter | None,
) -> tuple[ClaimedBatch, NotAnswered | None]:
    """The batch as its backend call goes, or why it is released unanswered."""
    if not meant_for_the_bot(settings, batch):
        return batch, NotAnswered(BatchOutcome.NOT_ADDRESSED, "not addressed to the bot")
    if adapter is None:  # not configured here: its delivery says so (a dead letter)
        return batch, None
    prepared = await adapter.prepare(redis, batch.conversation, batch.request)
    if isinstance(prepared, str):
        return batch, NotAnswered(BatchOutcome.NOT_ANSWERABLE, prepared)
    return dataclasses.replace(batch, request=prepared), None
