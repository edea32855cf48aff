"""Delivering proactive messages from the conversation's own job (see :mod:`shared.outbox`).

They go out after any reply in progress, through the same delivery loop as answers, so
they are never interleaved with an answer's parts and a re-run after a crash continues
with the first part not sent.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

from arq import Retry

from channels.base import ChannelSender, Recipient
from channels.outcomes import RetryAfter, Unavailable
from shared import metrics
from shared.keys import channel_of
from shared.models import BatchResponse, OutgoingMessage
from shared.states import AbandonReason
from worker.delivery import deliver, refusal_reason
from worker.lifecycle import ChannelNotConfigured, WorkerDeps
from worker.reply_parts import reply_parts

log = logging.getLogger("batchbot.worker")


@dataclass(frozen=True, slots=True)
class OutboxDone:
    """What one pass over a conversation's outbox did, for the job's result line."""

    delivered: int = 0
    undelivered: int = 0
    held: int = 0
    """Left waiting: a human has the conversation (the job runs again when it ends)."""

    def __str__(self) -> str:
        said = []
        if self.delivered:
            said.append(f"{self.delivered} proactive message(s) sent")
        if self.undelivered:
            said.append(f"{self.undelivered} proactive message(s) NOT delivered")
        if self.held:
            said.append(f"{self.held} proactive message(s) held for the human's pause")
        return "".join(f"; {part}" for part in said)


async def deliver_outbox(deps: WorkerDeps, conversation: str, retry_delay: float) -> OutboxDone:
    """Send every waiting proactive message; says how many went out and how many could not.

    Raises ARQ's Retry when the chat platform is unavailable or asks to wait: the job
    runs again later and continues with the first part not sent. A message for a person
    who cannot be reached, one of which the platform refused a part (or a channel this
    worker is not configured for) is not delivered: it is logged, counted, and kept with
    the reason among the undelivered ones (``batchctl undelivered``, the console), since
    its sender got 202 long before. Nothing goes out while a human has the conversation.
    """
    delivered = undelivered = 0
    channel = channel_of(conversation).value
    while (head := await deps.outbox.head(conversation)) is not None:
        message, already_sent = head
        if await _not_paused(deps, conversation) != "go":
            return await _held(deps, conversation, OutboxDone(delivered, undelivered))
        try:
            sender = deps.sender_for(conversation)
        except ChannelNotConfigured as error:
            await _not_delivered(deps, conversation, message, already_sent, str(error))
            metrics.PROACTIVE_MESSAGES.labels(channel, "channel_not_configured").inc()
            undelivered += 1
            continue
        outcome = await _deliver_one(deps, sender, conversation, message, already_sent, retry_delay)
        if outcome == "held":
            return await _held(deps, conversation, OutboxDone(delivered, undelivered))
        metrics.PROACTIVE_MESSAGES.labels(channel, outcome).inc()
        delivered += outcome == "delivered"
        undelivered += outcome != "delivered"
    return OutboxDone(delivered, undelivered)


async def _not_paused(deps: WorkerDeps, conversation: str, number: int = 0) -> str:
    """Asked before each part too: nothing goes out over a human (the pause may have
    begun while the message was being sent)."""
    paused = await deps.handoffs.paused_until_ms(conversation) is not None
    return AbandonReason.HANDED_OVER if paused else "go"


async def _deliver_one(
    deps: WorkerDeps,
    sender: ChannelSender,
    conversation: str,
    message: OutgoingMessage,
    already_sent: int,
    retry_delay: float,
) -> str:
    """The first waiting message, from its first part not sent: 'delivered', 'held' (a
    human took over meanwhile), or why not ('refused', 'undeliverable'; kept as such)."""
    parts = reply_parts(BatchResponse(messages=[message]), limits=sender.limits)
    refused: dict[int, str] = {}

    async def mark_refused(number: int, reason: str) -> bool:
        refused[number] = reason
        return True

    async def mark_sent(sent: int) -> bool:
        # A message with a refused part stays first until it is kept as undelivered.
        done = sent == len(parts) and not refused
        await deps.outbox.mark_sent(conversation, sent, done=done)
        return True

    try:
        result = await deliver(
            sender, Recipient(conversation), parts, already_sent, mark_sent, deps.pacing,
            what=f"proactive message for {conversation}",
            log_fields={"conversation": conversation},
            may_go=functools.partial(_not_paused, deps, conversation),
            mark_refused=mark_refused,
        )  # fmt: skip
    except RetryAfter as error:
        raise Retry(defer=error.seconds) from error
    except Unavailable as error:
        raise Retry(defer=retry_delay) from error
    if result.halted is not None:
        return "held"
    if refused or result.undeliverable is not None:
        channel = sender.channel.value
        reason = refusal_reason(refused, len(parts), channel) or (
            f"not delivered after {result.parts_done} part(s): {result.undeliverable}"
        )
        await _not_delivered(deps, conversation, message, result.parts_done, reason)
        return "refused" if refused else "undeliverable"
    if not parts:
        await deps.outbox.mark_sent(conversation, 0, done=True)
    return "delivered"


async def _held(deps: WorkerDeps, conversation: str, done: OutboxDone) -> OutboxDone:
    """A human has the conversation: what waits stays queued; the job's end schedules it
    for the pause's end (``schedule.lua``)."""
    held = await deps.outbox.waiting(conversation)
    log.info(
        "conversation %s: %d proactive message(s) held: a human has the conversation",
        conversation,
        held,
        extra={"conversation": conversation},
    )
    metrics.PROACTIVE_MESSAGES.labels(channel_of(conversation).value, "held").inc(held)
    return OutboxDone(done.delivered, done.undelivered, held)


async def _not_delivered(
    deps: WorkerDeps, conversation: str, message: OutgoingMessage, parts_sent: int, reason: str
) -> None:
    log.error(
        "proactive message for %s not delivered: %s",
        conversation,
        reason,
        extra={"conversation": conversation},
    )
    await deps.outbox.drop_undelivered(
        conversation, message, parts_sent, deps.redact.reason(reason)
    )
