"""What the bot does with what any channel receives (:class:`StoringIntake`, the
:class:`channels.base.Intake` every adapter hands its deliveries to): each write retried
while Redis is unreachable or its replicas short, and what became of it counted and logged."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.settings import BotSettings
from channels.base import Author, HumanReply, NotStored, Removal
from shared import metrics
from shared.handoff import Handoffs, takeover_is_off
from shared.logs import serving_tenant
from shared.models import Channel, IncomingMessage
from shared.pipelining import NotReplicated
from shared.replication import ReplicaWatch
from shared.rules import BatchingRules
from shared.states import AppendResult
from shared.stops import StopResult, Stops
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


@dataclass(frozen=True, slots=True)
class StoringIntake:
    """Every channel's deliveries into Redis. ``give_up_after_seconds``: a webhook's
    platform keeps what was not answered 2xx, so after WEBHOOK_STORE_TIMEOUT_SECONDS the
    write gives up (NotStored) and the platform delivers again; None (polling) never does."""

    store: BatchStore
    rules: BatchingRules
    handoffs: Handoffs
    handoff_seconds: float
    shutdown_grace_seconds: float
    give_up_after_seconds: float | None
    tenant: str | None = None
    """Named in the log lines of what it stores (TENANTS_FILE)."""

    @classmethod
    def of(
        cls, store: BatchStore, settings: BotSettings, tenant: str | None = None
    ) -> StoringIntake:
        ttl = settings.redis_key_ttl_seconds
        return cls(
            store,
            settings.batching_rules(),
            Handoffs(store.redis, ttl, store.scripts),
            settings.handoff_seconds,
            settings.bot_shutdown_grace_seconds,
            settings.webhook_store_timeout_seconds,
            tenant,
        )

    def patient(self) -> StoringIntake:
        return replace(self, give_up_after_seconds=None)

    async def message(self, channel: Channel, author: Author, message: IncomingMessage) -> None:
        serving_tenant(self.tenant)
        result = await store_until_done(
            self.store, author, message, self.rules, self.give_up_after_seconds
        )
        record(result, channel, author.conversation, message)
        if self.tenant is not None and not (result.refused or result.duplicate):
            metrics.TENANT_MESSAGES.labels(self.tenant).inc()

    async def removal(self, removal: Removal) -> None:
        try:
            removed = await self.store.remove_pending(removal.conversation, removal.message_id)
        except (RedisError, OSError) as error:
            raise NotStored(f"deletion of {removal.message_id}") from error
        log.info(
            "deletion of message %s of %s %s",
            removal.message_id,
            removal.conversation,
            "removed its pending copy" if removed else _NOT_PENDING,
            extra={"conversation": removal.conversation, "message_id": str(removal.message_id)},
        )

    async def human_reply(self, reply: HumanReply) -> None:
        """Unless takeovers are off (HANDOFF_SECONDS=0), when a human's message is only
        left out."""
        if takeover_is_off(self.handoff_seconds):
            return
        await until_stored(
            lambda: self.handoffs.take_over(
                reply.conversation, "owner", self.handoff_seconds, reply.said, reply.message_id
            ),
            f"takeover of {reply.conversation}",
            self.give_up_after_seconds,
        )

    async def stop(self, conversation: str, draft_id: int) -> None:
        stops = Stops(self.store.redis, self.store.scripts)
        result = await until_stored(
            lambda: stops.stop(conversation, draft_id),
            f"Stop of draft {draft_id} in {conversation}",
            self.give_up_after_seconds,
        )
        said = {
            StopResult.STOPPED: "its batch is abandoned; the backend call is cancelled",
            StopResult.SENT: "too late: the answer had begun to go out; nothing changes",
            StopResult.UNKNOWN: "no batch of this draft is being answered; nothing changes",
        }[result]
        log.info(
            "Stop pressed on draft %d in %s: %s", draft_id, conversation, said,
            extra={"conversation": conversation},
        )  # fmt: skip


_NOT_PENDING = "ignored: it was not pending (its batch had gone, or it was never batched)"


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

    In polling mode the update is confirmed to Telegram only once stored (its receiver's
    polling), so waiting holds up nothing but new fetches: no limit. A webhook's platform
    (Telegram, WhatsApp) keeps the message until we answer 2xx, so after
    WEBHOOK_STORE_TIMEOUT_SECONDS we give up (NotStored) and let it redeliver.
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
