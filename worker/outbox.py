"""Delivering proactive messages from the conversation's own job (see :mod:`shared.outbox`).

They go out after any reply in progress, through the same delivery loop as answers, so
they are never interleaved with an answer's parts and a re-run after a crash continues
with the first part not sent.
"""

from __future__ import annotations

import logging

from arq import Retry

from channels.base import Recipient
from channels.outcomes import RetryAfter, Unavailable
from shared.models import BatchResponse
from worker.delivery import deliver
from worker.lifecycle import ChannelNotConfigured, WorkerDeps
from worker.reply_parts import reply_parts

log = logging.getLogger("batchbot.worker")


async def deliver_outbox(deps: WorkerDeps, conversation: str, retry_delay: float) -> int:
    """Send every waiting proactive message; returns how many went out.

    Raises ARQ's Retry when the chat platform is unavailable or asks to wait: the job
    runs again later and continues with the first part not sent. A person who cannot be
    reached (or a channel this worker is not configured for) gets the message dropped,
    with a log line: a proactive message answers nothing, so there is no batch to keep.
    """
    delivered = 0
    while (head := await deps.outbox.head(conversation)) is not None:
        message, already_sent = head
        try:
            sender = deps.sender_for(conversation)
        except ChannelNotConfigured as error:
            log.error("proactive message for %s dropped: %s", conversation, error)
            await deps.outbox.mark_sent(conversation, already_sent, done=True)
            continue
        parts = reply_parts(BatchResponse(messages=[message]), limits=sender.limits)

        async def mark_sent(sent: int, total: int = len(parts)) -> bool:
            await deps.outbox.mark_sent(conversation, sent, done=sent == total)
            return True

        try:
            result = await deliver(
                sender,
                Recipient(conversation),
                parts,
                already_sent,
                mark_sent,
                deps.pacing,
                what=f"proactive message for {conversation}",
                log_fields={"conversation": conversation},
            )
        except RetryAfter as error:
            raise Retry(defer=error.seconds) from error
        except Unavailable as error:
            raise Retry(defer=retry_delay) from error
        if result.undeliverable is not None or not parts:
            await deps.outbox.mark_sent(conversation, len(parts), done=True)
        delivered += 1
    return delivered
