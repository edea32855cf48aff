"""Two decisions about a batch, as pure functions of the settings: how long a retry
waits, and whether a group batch is for the bot at all."""

from __future__ import annotations

import random

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
