"""What the Bot API stand-in records of the bot's calls, and how a test steers them."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class SentMessage:
    chat_id: int
    message_id: int
    text: str
    at: float
    parse_mode: str | None = None
    reply_to: int | None = None
    photo: str | None = None
    business_connection_id: str | None = None
    """Sent on behalf of a Telegram Business account, through this connection."""


@dataclass(frozen=True, slots=True)
class Draft:
    """A sendMessageDraft call: the answer so far, shown as it is written."""

    chat_id: int
    draft_id: int
    text: str
    """'' is Telegram's "Thinking…" placeholder."""
    at: float
    can_stop: bool = False
    """A Stop button shows under it (Bot API 10.3)."""
    keep_on_stop: bool = False
    reasoning: str = ""
    """A rich draft's thinking block (``sendRichMessageDraft``, Bot API 10.1)."""


@dataclass(frozen=True, slots=True)
class Edit:
    """An editMessageText call Telegram took: the message's text from then on."""

    chat_id: int
    message_id: int
    text: str
    at: float
    parse_mode: str | None = None
    business_connection_id: str | None = None


@dataclass(frozen=True, slots=True)
class ChatAction:
    """A sendChatAction call ("typing"), with when it came (monotonic, like SentMessage)."""

    chat_id: int
    action: str
    at: float
    business_connection_id: str | None = None


@dataclass
class ForcedError:
    """An error the next call of a method answers instead of succeeding."""

    status: int
    description: str
    retry_after: int | None = None


@dataclass
class Hold:
    """A call kept waiting: ``arrived`` is set when it comes in; :meth:`release` lets it go."""

    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def release(self) -> None:
        self.released.set()
