"""The one delivery loop: send the parts not yet sent, marking each as it goes.

Backend answers and proactive messages, on every channel, go through :func:`deliver`.
A channel's sender (:class:`channels.base.ChannelSender`) does the sending and maps
its platform's errors onto :mod:`channels.outcomes`; here those outcomes get one
meaning each: a part refused for good is recorded with the platform's reason (never
counted as delivered; the job keeps the batch as a dead letter) and the rest still go, a
person who cannot be reached gets nothing more (a dead letter too), and "retry after" or
"unavailable" go up to the job, which knows whether its batch may still wait.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from channels.base import ChannelSender, MessageEdits, Recipient
from channels.outcomes import RecipientGone, Refused
from shared import metrics
from shared.models import Channel, MessageId
from worker.recording import recorded, unsplittable
from worker.reply_parts import ReplyPart, pacing_seconds

log = logging.getLogger("batchbot.worker")

MarkSent = Callable[[int], Awaitable[bool]]
"""Records how many parts of the reply have gone out (an atomic Redis write); False when
this run no longer holds the reply (another worker took it over)."""

MarkRefused = Callable[[int, str], Awaitable[bool]]
"""Records that part n (from 1) was refused for good, with the platform's reason, before
the part is marked done; False when this run no longer holds the reply."""

MayGo = Callable[[int], Awaitable[str]]
"""Asked before part n (from 1) goes: 'go', 'lost' (another run holds the reply) or why
nothing more of it goes out (a human took the conversation over)."""


class ClaimLost(Exception):
    """Another worker took the reply over (this one stalled): send nothing more."""


async def always_go(number: int) -> str:
    """For replies nobody else can take over (proactive messages)."""
    return "go"


async def remember_nothing(number: int, reason: str) -> bool:
    """For replies whose refusals need not outlive the run (it reports them itself)."""
    return True


@dataclass(frozen=True, slots=True)
class Pacing:
    """Parts after the first come with 'typing…' for as long as writing them would take."""

    seconds_per_character: float
    max_seconds: float


@dataclass(frozen=True, slots=True)
class Delivered:
    parts_done: int
    """Parts sent or refused, counted from the reply's first."""
    refused: dict[int, str] = field(default_factory=dict)
    """Part number (from 1) to the platform's reason, for parts it refused for good in
    this run: never delivered, never in the history."""
    undeliverable: str | None = None
    """Why the person cannot be reached (blocked the bot, WhatsApp's window closed, the
    token refused); the parts after ``parts_done`` were not sent."""
    halted: str | None = None
    """Why the parts after ``parts_done`` must not go out (a human took over)."""


@dataclass(frozen=True, slots=True)
class Grown:
    """The messages an answer grew in as it was written (:mod:`worker.growing`), by part
    number: those parts' final text is edited into them, never sent again."""

    edits: MessageEdits
    ids: dict[int, MessageId]


async def deliver(
    sender: ChannelSender,
    to: Recipient,
    parts: Sequence[ReplyPart],
    already_sent: int,
    mark_sent: MarkSent,
    pacing: Pacing,
    what: str,
    log_fields: dict[str, str] | None = None,
    may_go: MayGo = always_go,
    mark_refused: MarkRefused = remember_nothing,
    grown: Grown | None = None,
) -> Delivered:
    """Send ``parts[already_sent:]`` in order; ``what`` names the reply in log lines.

    Raises :class:`channels.outcomes.RetryAfter` or :class:`channels.outcomes.Unavailable`
    with every part before the failed one marked as sent, so a re-run continues there;
    :class:`ClaimLost` when the reply was taken over by another run.
    """
    refused: dict[int, str] = {}
    for index in range(already_sent, len(parts)):
        part, number = parts[index], index + 1
        grown_id = grown.ids.get(number) if grown is not None else None
        if grown is not None and grown_id is not None:
            # On screen already: it went out as it grew, whoever came meanwhile.
            send = functools.partial(_finish_grown, sender, grown.edits, grown_id, to, part)
        else:
            verdict = await _before_part(sender, to, part, number, pacing, may_go)
            if verdict == "lost":
                raise ClaimLost(f"{what}: taken over by another worker before part {number}")
            if verdict != "go":
                log.info("%s: %s; parts from %d on not sent", what, verdict, number,
                         extra=log_fields)  # fmt: skip
                return Delivered(index, refused, halted=verdict)
            send = functools.partial(_send_part, sender, to, part)
        try:
            await unsplittable(
                functools.partial(_send_and_mark, send, sender.channel, mark_sent, number)
            )
        except RecipientGone as gone:
            log.warning("%s: %s; the rest is not sent", what, gone, extra=log_fields)
            return Delivered(index, refused, undeliverable=str(gone))
        except Refused as refusal:
            log.error("%s: part %d of %d refused by %s, not delivered: %s", what, number,
                      len(parts), sender.channel.value, refusal, extra=log_fields)  # fmt: skip
            metrics.REPLY_PARTS_REFUSED.labels(sender.channel.value).inc()
            refused[number] = str(refusal)
            kept = await recorded(functools.partial(mark_refused, number, str(refusal)), what)
            if not (kept and await recorded(functools.partial(mark_sent, number), what)):
                raise ClaimLost(f"{what}: taken over by another worker") from refusal
    if grown is not None:  # grown further than the final answer: not left half-written
        for number in sorted(n for n in grown.ids if n > len(parts)):
            await grown.edits.delete(grown.ids[number])
    return Delivered(len(parts), refused)


async def _before_part(
    sender: ChannelSender,
    to: Recipient,
    part: ReplyPart,
    number: int,
    pacing: Pacing,
    may_go: MayGo,
) -> str:
    """After the first part, "typing…" for as long as writing the part would take; then
    whether it may go (see :data:`MayGo`)."""
    if number > 1:
        await sender.show_typing(to)
        await asyncio.sleep(pacing_seconds(part, pacing.seconds_per_character, pacing.max_seconds))
    return await may_go(number)


def refusal_reason(refused: dict[int, str], total: int, channel: str) -> str:
    """Why parts did not arrive though they were sent ('' for none): each refused part
    with the platform's own words, so an operator knows what to mend before a replay."""
    return "; ".join(
        f"part {number} of {total} refused by {channel}: {reason}"
        for number, reason in sorted(refused.items())
    )


async def _send_and_mark(
    send: Callable[[], Awaitable[None]], channel: Channel, mark_sent: MarkSent, parts_done: int
) -> None:
    await send()
    metrics.REPLY_PARTS_SENT.labels(channel.value).inc()
    if not await recorded(functools.partial(mark_sent, parts_done), f"part {parts_done} sent"):
        raise ClaimLost(f"part {parts_done} sent as the reply was taken over by another worker")


async def _send_part(sender: ChannelSender, to: Recipient, part: ReplyPart) -> None:
    if part.photo is not None:
        caption = part.text or None
        await sender.send_photo(to, part.photo, caption, part.parse_mode, part.reply_to)
    else:
        await sender.send_text(to, part.text, part.parse_mode, part.reply_to)


async def _finish_grown(
    sender: ChannelSender,
    edits: MessageEdits,
    message_id: MessageId,
    to: Recipient,
    part: ReplyPart,
) -> None:
    """The part's final text edited into the message it grew in. A message the person
    deleted, or an edit refused, gets the part sent anew: the answer is never lost."""
    if part.photo is None:
        try:
            await edits.edit(message_id, part.text, part.parse_mode)
            return
        except Refused as refused:
            log.info("message %s could not take its final text (%s); sent anew",
                     message_id, refused)  # fmt: skip
    else:  # a text message cannot become a photo
        await edits.delete(message_id)
    await _send_part(sender, to, part)
