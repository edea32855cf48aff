"""What the person sees while the backend works: "typing…", and, where the chat has
drafts, "Thinking…" until the first piece, then the answer as it is being written;
where it has none but messages can be edited, the answer growing in a message
(:mod:`worker.growing`).

Drafts are a preview: the answer is stored and sent for good only once the backend's
final answer event arrives (:mod:`worker.jobs`). A draft the platform refuses turns
drafts off for the batch and "typing…" comes back; it never holds up or loses the
answer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from channels.base import ChannelSender, Recipient
from worker.growing import GrowingMessages, Growth

OnText = Callable[[str], Awaitable[None]]

THINKING_RENEW_SECONDS = 20.0
"""A draft shows for about 30 s: "Thinking…" is sent again before it lapses."""


@dataclass(frozen=True, slots=True)
class Shown:
    """What to call as the backend streams: with the answer's text so far, and with its
    reasoning so far (a thinking block above the answer, never part of it). None where
    the chat cannot show it."""

    text: OnText | None = None
    reasoning: OnText | None = None


class _Drafts:
    """Shows the newest text (and reasoning) at most once per ``interval_seconds``; the
    first at once."""

    def __init__(
        self,
        sender: ChannelSender,
        to: Recipient,
        draft_id: int,
        interval_seconds: float,
        thinking: bool,
    ) -> None:
        self.sender, self.to, self.draft_id = sender, to, draft_id
        self.interval_seconds = interval_seconds
        self.showing = False
        """A draft is on screen: "typing…" would only flicker over it."""
        self.refused = False
        self._thinking = thinking
        self._newest = ""
        self._reasoning = ""
        self._changed = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None
        if thinking:  # empty text: Telegram's "Thinking…", until the first piece
            self._changed.set()
            self._pump = asyncio.create_task(self._show_changes())

    @property
    def thinking(self) -> bool:
        """The "Thinking…" placeholder is on its way or on screen."""
        return self._thinking and not self.refused

    async def update(self, text: str) -> None:
        self._newest = text
        self._show()

    async def update_reasoning(self, reasoning: str) -> None:
        self._reasoning = reasoning
        self._show()

    def _show(self) -> None:
        if self.refused:
            return
        self._changed.set()
        if self._pump is None:
            self._pump = asyncio.create_task(self._show_changes())

    async def _show_changes(self) -> None:
        while True:
            renew = THINKING_RENEW_SECONDS if not (self._newest or self._reasoning) else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), renew)
            self._changed.clear()
            text, reasoning = self._newest, self._reasoning
            if not await self.sender.show_draft(self.to, self.draft_id, text, reasoning):
                self.refused, self.showing = True, False
                return
            self.showing = True
            if text or reasoning:  # after "Thinking…", the first piece shows at once
                await asyncio.sleep(self.interval_seconds)

    async def close(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump


@contextlib.asynccontextmanager
async def progress_shown(
    sender: ChannelSender,
    to: Recipient,
    draft_id: int,
    drafts_per_second: float,
    thinking: bool = False,
    reasoning: bool = False,
    growth: Growth | None = None,
) -> AsyncIterator[Shown]:
    """Keep "typing…" (or, with ``thinking``, "Thinking…") up while the block runs; yields
    what to call as the answer (and, with ``reasoning``, its reasoning) is written: into a
    draft, or, with ``growth`` where a chat has none, into messages edited as it grows;
    None where neither can show it (the setting at 0, the channel)."""
    if drafts_per_second <= 0:
        growth = None
    edits = sender.edits_for(to) if growth is not None else None
    if growth is not None and edits is not None and not sender.shows_drafts(to):
        interval = max(1 / drafts_per_second, edits.interval_seconds)
        growing = GrowingMessages(edits, growth, interval)
        try:
            async with typing_until(sender, to, lambda: growing.showing):
                yield Shown(growing.update)
        finally:
            await growing.close()
        return
    if drafts_per_second <= 0 or not sender.shows_drafts(to):
        async with typing_until(sender, to, lambda: False):
            yield Shown()
        return
    drafts = _Drafts(sender, to, draft_id, 1 / drafts_per_second, thinking)
    # "Thinking…" stands in for "typing…" (one call, not two), unless it was refused.
    try:
        async with typing_until(sender, to, lambda: drafts.showing or drafts.thinking):
            yield Shown(drafts.update, drafts.update_reasoning if reasoning else None)
    finally:
        await drafts.close()


TYPING_SETTLE_SECONDS = 1.0
"""At the block's end, a typing call under way may finish for this long (on WhatsApp it
also marks the person's message read), then it is cut off."""


@contextlib.asynccontextmanager
async def typing_until(
    sender: ChannelSender, to: Recipient, paused: Callable[[], bool]
) -> AsyncIterator[None]:
    """Keep 'typing…' showing (Telegram shows it 5 s, WhatsApp 25 s) until the block ends,
    except while ``paused()`` (a draft is on screen)."""
    done = asyncio.Event()

    async def refresh() -> None:
        while not done.is_set():
            if not paused():
                await sender.show_typing(to)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), sender.typing_refresh_seconds)

    refresher = asyncio.create_task(refresh())
    try:
        yield
    finally:
        done.set()
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(refresher, TYPING_SETTLE_SECONDS)
