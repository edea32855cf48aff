"""Decisions about a batch: how long a retry waits, whether a group batch is for the bot
at all, and whether its channel lets it be answered now (``ChannelAdapter.prepare``)."""

from __future__ import annotations

import dataclasses
import logging
import random
from dataclasses import dataclass

from redis.asyncio import Redis

from channels.adapter import ChannelAdapter
from shared import metrics
from shared.keys import ANSWERS_WINDOW_MS, ConversationKeys
from shared.states import BatchOutcome
from shared.store import ClaimedBatch
from worker.settings import WorkerProcessSettings

log = logging.getLogger("batchbot.worker")


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


async def over_the_cap(
    settings: WorkerProcessSettings, redis: Redis, batch: ClaimedBatch
) -> NotAnswered | None:
    """ANSWERS_PER_HOUR_MAX: a conversation answered that often in the last hour (as the
    claim counted it) is a loop, two bots answering each other, not a person. Said in one
    log line when it begins (``answers-capped:<conversation>`` remembers that for the
    hour); every batch left unanswered is counted. A batch whose answer is stored goes."""
    cap = settings.answers_per_hour_max
    if cap == 0 or batch.answer is not None or batch.answers_last_hour < cap:
        return None
    metrics.ANSWERS_CAPPED.labels(batch.request.channel.value).inc()
    said = ConversationKeys(batch.conversation).answers_capped
    if await redis.set(said, cap, nx=True, px=ANSWERS_WINDOW_MS):
        log.warning(
            "conversation %s had %d answers in the last hour (ANSWERS_PER_HOUR_MAX): a loop "
            "of bots? Its batches are left unanswered until the hour's count falls",
            batch.conversation, cap, extra={"conversation": batch.conversation},
        )  # fmt: skip
    return NotAnswered(BatchOutcome.CAPPED, f"{cap} answers in the last hour already")


async def answerable(
    settings: WorkerProcessSettings,
    redis: Redis,
    batch: ClaimedBatch,
    adapter: ChannelAdapter | None,
) -> tuple[ClaimedBatch, NotAnswered | None]:
    """The batch as its backend call goes, or why it is released unanswered."""
    if not meant_for_the_bot(settings, batch):
        return batch, NotAnswered(BatchOutcome.NOT_ADDRESSED, "not addressed to the bot")
    capped = await over_the_cap(settings, redis, batch)
    if capped is not None:
        return batch, capped
    if adapter is None:  # not configured here: its delivery says so (a dead letter)
        return batch, None
    prepared = await adapter.prepare(redis, batch.conversation, batch.request)
    if isinstance(prepared, str):
        return batch, NotAnswered(BatchOutcome.NOT_ANSWERABLE, prepared)
    return dataclasses.replace(batch, request=prepared), None
