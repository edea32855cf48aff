"""Delivering proactive messages: what the backend sends without being asked.

They wait in ``outbox:<conversation>`` and go out from the conversation's own job, after
any reply in progress, so they are never interleaved with an answer's parts. Each part
is recorded as sent before the next (``outbox-sent:<conversation>``), so a re-run after a
crash continues where it stopped.
"""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from arq import Retry

from shared import metrics
from shared.keys import chat_of_conversation
from shared.models import BatchResponse
from shared.settings import WorkerProcessSettings
from shared.store import BatchStore
from worker.telegram import (
    ReplyPart,
    pacing_seconds,
    reply_parts,
    send_part,
    show_typing,
    unsplittable,
)

log = logging.getLogger("batchbot.worker")


async def deliver_outbox(
    store: BatchStore,
    bot: Bot,
    settings: WorkerProcessSettings,
    conversation: str,
    retry_delay: float,
) -> int:
    """Send every waiting proactive message; returns how many went out.

    Raises ARQ's Retry when Telegram is unavailable or asks to wait: the job runs again
    later and continues with the first part not sent.
    """
    chat_id = chat_of_conversation(conversation)
    delivered = 0
    while (head := await store.outbox_head(conversation)) is not None:
        message, already_sent = head
        parts = reply_parts(BatchResponse(messages=[message]))
        for index in range(already_sent, len(parts)):
            if index > 0:
                await show_typing(bot, chat_id)
                await asyncio.sleep(pacing_seconds(settings, parts[index]))
            part, done = parts[index], index + 1 == len(parts)

            async def step(
                part: ReplyPart = part, sent: int = index + 1, done: bool = done
            ) -> None:
                await send_part(bot, chat_id, part, part.reply_to)
                metrics.REPLY_PARTS_SENT.inc()
                await store.mark_outbox_sent(conversation, sent, done)

            try:
                await unsplittable(step)
            except TelegramRetryAfter as error:
                metrics.TELEGRAM_ERRORS.labels("retry_after").inc()
                raise Retry(defer=error.retry_after) from error
            except (TelegramNetworkError, TelegramServerError) as error:
                kind = "network" if isinstance(error, TelegramNetworkError) else "server"
                metrics.TELEGRAM_ERRORS.labels(kind).inc()
                raise Retry(defer=retry_delay) from error
            except TelegramForbiddenError:
                metrics.TELEGRAM_ERRORS.labels("forbidden").inc()
                log.warning("chat %s blocked the bot; proactive message dropped", chat_id)
                await store.mark_outbox_sent(conversation, len(parts), done=True)
                break
            except TelegramBadRequest as error:
                metrics.TELEGRAM_ERRORS.labels("bad_request").inc()
                log.error("chat %s: Telegram refused a proactive message: %s", chat_id, error)
                await store.mark_outbox_sent(conversation, index + 1, done)
        if not parts:
            await store.mark_outbox_sent(conversation, 0, done=True)
        delivered += 1
    return delivered
