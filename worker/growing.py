"""An answer shown as it is written where the chat has no drafts (Telegram Business chats
and groups): sent as a message once its first piece comes, then edited as it grows, and
continued in a next message past the platform's length limit.

Each message's id is recorded in the batch (``streamed:<part>``) before it is edited, so
the delivery, in this run or in one that resumes after a crash, edits the final text into
it rather than sending the part again. Each message is asked for like a part
(``begin_part.lua``): a human or a new message comes before it or after it. An edit the
platform refuses, or a message the person deleted, ends the edits; the delivery still
brings the final answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from redis.exceptions import RedisError

from channels.base import Limits, MessageEdits
from channels.outcomes import DeliveryFailed
from shared.models import MessageId
from worker.recording import recorded, unsplittable
from worker.reply_parts import split_text

log = logging.getLogger("batchbot.worker")


@dataclass(frozen=True, slots=True)
class Growth:
    """What growing messages need from their batch."""

    begin: Callable[[int], Awaitable[str]]
    """Asked before message n (from 1) is sent: 'go', or why it may not (as for a part)."""
    record: Callable[[int, MessageId], Awaitable[bool]]
    """Keeps message n's id with the batch; False when the batch was taken over."""
    reply_to: MessageId | None
    """What the first message answers (in a group, the batch's last message)."""
    limits: Limits
    ids: dict[int, MessageId]
    """Filled in as messages are sent, by part number (from 1): what the delivery edits."""


class GrowingMessages:
    """Shows the newest text at most once per ``interval_seconds``, the first at once."""

    def __init__(self, edits: MessageEdits, growth: Growth, interval_seconds: float) -> None:
        self.edits, self.growth = edits, growth
        self.interval_seconds = interval_seconds
        self.ids = growth.ids
        self.ended = False
        self._shown: dict[int, str] = {}
        self._newest = ""
        self._changed = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None

    @property
    def showing(self) -> bool:
        """A message is on screen: "typing…" is not needed over it."""
        return bool(self.ids) and not self.ended

    async def update(self, text: str) -> None:
        self._newest = text
        if self.ended:
            return
        self._changed.set()
        if self._pump is None:
            self._pump = asyncio.create_task(self._grow())

    async def _grow(self) -> None:
        while not self.ended:
            await self._changed.wait()
            self._changed.clear()
            try:
                await self._show(self._newest)
            except (DeliveryFailed, RedisError) as error:
                log.info("the answer's edits end: %s; it comes whole when written", error)
                self.ended = True
                return
            except Exception:  # a preview never fails its batch
                log.exception("the answer's edits end; it comes whole when written")
                self.ended = True
                return
            await asyncio.sleep(self.interval_seconds)

    async def _show(self, text: str) -> None:
        pieces = split_text(text, self.growth.limits.text, self.growth.limits.text_bytes)
        for number, piece in enumerate(pieces, start=1):
            if not piece.strip() or self._shown.get(number) == piece:
                continue
            if number in self.ids:
                await self.edits.edit(self.ids[number], piece, None)
            elif not await unsplittable(functools.partial(self._start, number, piece)):
                self.ended = True
                return
            self._shown[number] = piece

    async def _start(self, number: int, piece: str) -> bool:
        """Send message ``number`` and record its id (never cut between the two); False
        when it may not go (a human took over; the batch was taken over)."""
        verdict = await self.growth.begin(number)
        if verdict != "go":
            log.info("the answer's message %d not started: %s", number, verdict)
            return False
        reply_to = self.growth.reply_to if number == 1 else None
        message_id = await self.edits.send(piece, reply_to)
        self.ids[number] = message_id
        record = functools.partial(self.growth.record, number, message_id)
        return await recorded(record, f"message {number} of the answer as it grows")

    async def close(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
