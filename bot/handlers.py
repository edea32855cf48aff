"""The router: every message of a person goes into their pending batch."""

from __future__ import annotations

import asyncio
import logging
import time

from aiogram import Bot, Router
from aiogram.types import Message
from redis.exceptions import RedisError

from bot.normalise import normalise
from bot.sender import Sender, sender_of
from bot.settings import BotSettings
from shared import metrics
from shared.models import Channel, IncomingMessage
from shared.pipelining import NotReplicated
from shared.rules import BatchingRules
from shared.states import AppendResult
from shared.store import BatchStore

log = logging.getLogger("batchbot.bot")

RETRY_FIRST_DELAY_SECONDS = 0.1
RETRY_MAX_DELAY_SECONDS = 5.0


class MessageNotStored(Exception):
    """Redis stayed unreachable; the platform must deliver the message again (webhooks)."""


def batching_router() -> Router:
    """A fresh router each time: aiogram attaches a router to one dispatcher only."""
    router = Router(name="batching")
    router.message.register(collect)
    router.edited_message.register(collect_edit)
    return router


async def collect(
    message: Message,
    bot: Bot,
    store: BatchStore,
    rules: BatchingRules,
    settings: BotSettings,
) -> None:
    sender = sender_of(message)
    if sender is None:
        log.info("ignored message %s in chat %s: no sender", message.message_id, message.chat.id)
        return
    incoming = normalise(message, await bot.me() if sender.chat.type != "private" else None)
    give_up = None if settings.webhook_url is None else settings.webhook_store_timeout_seconds
    result = await store_until_done(store, sender, incoming, rules, give_up)
    record(result, Channel.TELEGRAM, sender.conversation, incoming)


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


async def collect_edit(message: Message, bot: Bot, store: BatchStore) -> None:
    """An edit while its message still waits replaces it: the backend sees what the person
    meant. Once the batch has gone, the edit is only logged; answering again would be a
    second answer to one burst."""
    sender = sender_of(message)
    if sender is None:
        return
    conversation = sender.conversation
    edited = normalise(message, await bot.me() if sender.chat.type != "private" else None)
    replaced = await store.replace_pending(conversation, edited)
    log.info(
        "edit of message %s of %s %s",
        message.message_id,
        conversation,
        "replaced its pending copy" if replaced else "came after its batch went; ignored",
        extra={"conversation": conversation, "message_id": message.message_id},
    )


async def store_until_done(
    store: BatchStore,
    sender: Sender,
    incoming: IncomingMessage,
    rules: BatchingRules,
    give_up_after_seconds: float | None,
) -> AppendResult:
    """Append, retrying while Redis is unreachable.

    In polling mode the update is confirmed to Telegram only once stored
    (:mod:`bot.polling`), so waiting holds up nothing but new fetches: no limit. A
    webhook's platform (Telegram, WhatsApp) keeps the message until we answer 2xx, so
    after WEBHOOK_STORE_TIMEOUT_SECONDS we give up (MessageNotStored) and let it redeliver.
    """
    delay = RETRY_FIRST_DELAY_SECONDS
    give_up_at = None if give_up_after_seconds is None else time.monotonic() + give_up_after_seconds
    while True:
        try:
            return await store.append(
                sender.conversation, sender.chat, sender.user, incoming, rules
            )
        except (RedisError, OSError) as error:
            metrics.STORE_RETRIES.inc()
            if give_up_at is not None and time.monotonic() + delay > give_up_at:
                raise MessageNotStored(
                    f"message {incoming.message_id} of {sender.conversation}"
                ) from error
            # Replicas missing: the store's watch says so once, not once per message.
            level = logging.DEBUG if isinstance(error, NotReplicated) else logging.WARNING
            log.log(
                level,
                "could not store message %s of %s (%s); retrying in %.1fs",
                incoming.message_id,
                sender.conversation,
                error,
                delay,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_DELAY_SECONDS)
