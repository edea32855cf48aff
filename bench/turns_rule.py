"""batchbot's deadline rule as the replay runs it: one model of ``append.lua``'s, held
equal to the Lua by ``tests/test_turns_rule.py`` (the Lua runs on Redis's clock, which a
replay of years of timing cannot drive).

After each message a batch is due at ``min(now + window, first + max wait)``, or at once
when the message makes it ``max messages`` long. The window may depend on the message
(:class:`WindowPolicy`): a fixed one is today's rule; the others are candidates the turns
benchmark tries against it.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Message:
    """One message of the timing corpus (``../shared/timing``'s format)."""

    at: float
    """Seconds since the conversation's start."""
    author: str
    length: int
    last: str
    """How it ends: ``?`` ``.`` ``!`` ``,`` ``…`` ``a`` (letter or digit) ``o`` (other)."""
    kind: str


class WindowPolicy(Protocol):
    @property
    def name(self) -> str: ...

    def window(self, message: Message, gaps: Sequence[float]) -> float:
        """Seconds of quiet after ``message`` before its batch goes; ``gaps``: the
        author's gaps between consecutive messages of a turn so far."""
        ...


@dataclass(frozen=True, slots=True)
class FixedWindow:
    """Today's rule: BATCH_WINDOW_SECONDS after every message."""

    seconds: float
    name: str = field(default="")

    def window(self, message: Message, gaps: Sequence[float]) -> float:
        return self.seconds


@dataclass(frozen=True, slots=True)
class ByEnding:
    """A message that ends a sentence (``?``, ``.``, ``!``) waits ``ended`` seconds; one that
    reads as unfinished (a letter, a comma, ``…``) waits ``unfinished``."""

    ended: float
    unfinished: float
    name: str = field(default="")

    def window(self, message: Message, gaps: Sequence[float]) -> float:
        return self.ended if message.last in "?.!" else self.unfinished


@dataclass(frozen=True, slots=True)
class OwnRhythm:
    """``factor`` times the author's median gap inside turns so far, within ``low`` and
    ``high``; ``high`` until the author has shown ``seen`` gaps."""

    factor: float
    low: float
    high: float
    seen: int = 3
    name: str = field(default="")

    def window(self, message: Message, gaps: Sequence[float]) -> float:
        if len(gaps) < self.seen:
            return self.high
        return min(self.high, max(self.low, self.factor * statistics.median(gaps[-20:])))


def deadline_ms(
    now_ms: int, first_ms: int, count: int, window_ms: int, max_wait_ms: int, max_messages: int
) -> int:
    """When a batch is due after a message arrives at ``now_ms``: the batch's first message
    came at ``first_ms`` and it now holds ``count`` messages (append.lua's rule)."""
    if count >= max_messages:
        return now_ms
    return min(now_ms + window_ms, first_ms + max_wait_ms)
