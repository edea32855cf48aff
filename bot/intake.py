"""Storing one incoming message, the same for every channel: the append retried while Redis
is unreachable, and what became of it counted and logged."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.settings import BotSettings
from channels.base import Author
from shared import metrics
from shared.models import Channel, IncomingMessage
from shared.pipelining import NotReplicated
from shared.replication import ReplicaWatch
from shared.rules import BatchingRules
from shared.states import AppendResult
from shared.store import BatchStore

log = logging.getLogger("batchbot.bot")

T = TypeVar("T")

RETRY_FIRST_DELAY_SECONDS = 0.1
RETRY_MAX_DELAY_SECONDS = 5.0


def batch_store(
    redis: Redis, settings: BotSettings, replicas: ReplicaWatch | None = None
) -> BatchStore:
    """The bot's store: each append waits for REDIS_WAIT_REPLICAS (``replicas``: one view
    of them for every channel's writes)."""
    return BatchStore(
        redis, settings.redis_key_ttl_seconds, settings.redis_wait_replicas, replicas=replicas
    )


class NotStored(Exception):
    """What a delivery carried (a message, a deletion, a human's takeover) could not be
    stored for good in time; the platform must deliver it again (webhooks). ``cause``
    says why, for the log line an operator reads."""

    @property
    def cause(self) -> str:
        if isinstance(self.__cause__, NotReplicated):
            return "Redis took it but its replicas did not confirm it: REDIS_WAIT_REPLICAS"
        return "Redis unreachable"


def record(
    result: AppendResult, channel: Channel, conversation: str, incoming: IncomingMessage
) -> None:
    """Count and log what became of one incoming message (never its content)."""
    ids = {"conversation": conversation, "message_id": str(incoming.message_id)}
    if result.refused:
        metrics.MESSAGES_REFUSED.labels(result.refused).inc()
        log.warning(
            "message %s of %s refused (%s): %d pending; see %s",
            incoming.message_id,
            conversation,
            result.refused,
            result.pending,
            result.refused.setting,
            extra=ids,
        )
        return
    if result.duplicate:
        metrics.MESSAGES_DUPLICATE.labels(channel.value).inc()
        log.info(
            "message %s of %s: duplicate delivery, dropped",
            incoming.message_id,
            conversation,
            extra=ids,
        )
        return
    metrics.MESSAGES_RECEIVED.labels(channel.value, incoming.kind.value).inc()
    due_in = max(0, result.deadline_ms - result.now_ms) / 1000
    # DEBUG: a line per message is noise at scale; metrics count them, workers log batches.
    log.debug(
        "message %s of %s stored (%s): %d pending, batch due in %.2fs (%s)",
        incoming.message_id,
        conversation,
        incoming.kind,
        result.pending,
        due_in,
        result.scheduling,
        extra=ids,
    )


async def store_until_done(
    store: BatchStore,
    sender: Author,
    incoming: IncomingMessage,
    rules: BatchingRules,
    give_up_after_seconds: float | None,
) -> AppendResult:
    """Append, retrying while Redis is unreachable (or its replicas short).

    In polling mode the update is confirmed to Telegram only once stored
    (:mod:`bot.telegram.polling`), so waiting holds up nothing but new fetches: no limit. A
    webhook's platform (Telegram, WhatsApp) keeps the message until we answer 2xx, so
    after WEBHOOK_STORE_TIMEOUT_SECONDS we give up (NotStored) and let it redeliver.
    """
    return await until_stored(
        lambda: store.append(sender.conversation, sender.chat, sender.user, incoming, rules),
        f"message {incoming.message_id} of {sender.conversation}",
        give_up_after_seconds,
    )


async def until_stored(
    write: Callable[[], Awaitable[T]], what: str, give_up_after_seconds: float | None
) -> T:
    """``write()``, retried with back-off while Redis is unreachable or its replicas do
    not confirm; NotStored once ``give_up_after_seconds`` (None: never) would pass."""
    delay = RETRY_FIRST_DELAY_SECONDS
    give_up_at = None if give_up_after_seconds is None else time.monotonic() + give_up_after_seconds
    while True:
        try:
            return await write()
        except (RedisError, OSError) as error:
            metrics.STORE_RETRIES.inc()
            if give_up_at is not None and time.monotonic() + delay > give_up_at:
                raise NotStored(what) from error
            # Replicas missing: the store's watch says so once, not once per message.
            level = logging.DEBUG if isinstance(error, NotReplicated) else logging.WARNING
            log.log(level, "could not store %s (%s); retrying in %.1fs", what, error, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_DELAY_SECONDS)
