"""What every channel's sender offers the worker: the one interface delivery is written to.

A sender gets a :class:`Recipient` (the conversation, which names the chat on its own
platform) and sends one reply part at a time; it raises only the outcomes of
:mod:`channels.outcomes`. Adding a platform means one module beside ``telegram.py`` and
``whatsapp/`` that implements :class:`ChannelSender`, plus a conversation-id prefix in
:mod:`shared.keys`; the delivery loop, retries and dead letters stay as they are.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Protocol

from shared.models import Channel, IncomingMessage, MessageId


@dataclass(frozen=True, slots=True)
class Recipient:
    """Whom a reply goes to, and the message it answers."""

    conversation: str
    """The conversation id (:mod:`shared.keys`): each channel reads its chat from it."""
    last_message_id: MessageId | None = None
    """The batch's last message, which WhatsApp's typing indicator marks as read; None
    for proactive messages, which answer nothing."""


MAX_IMAGE_BYTES = 10 * 1024 * 1024
"""A photo larger than this is not inlined for a model (it appears as [photo])."""


def data_url(content: bytes, mime_type: str | None) -> str:
    """Bytes as a ``data:`` URL, the way chat-completions APIs take inline images."""
    return f"data:{mime_type or 'image/jpeg'};base64,{base64.b64encode(content).decode()}"


@dataclass(frozen=True, slots=True)
class Limits:
    """The longest text and caption the platform accepts, in characters."""

    text: int
    caption: int


class ChannelSender(Protocol):
    """Sends reply parts on one platform, mapping its errors onto the delivery outcomes."""

    @property
    def channel(self) -> Channel: ...

    @property
    def limits(self) -> Limits: ...

    @property
    def typing_refresh_seconds(self) -> float:
        """How often the typing indicator must be sent again to keep showing."""
        ...

    async def send_text(
        self, to: Recipient, text: str, parse_mode: str | None, reply_to: MessageId | None
    ) -> None: ...

    async def send_photo(
        self,
        to: Recipient,
        photo: str,
        caption: str | None,
        parse_mode: str | None,
        reply_to: MessageId | None,
    ) -> None: ...

    async def show_typing(self, to: Recipient) -> None:
        """Best effort: never raises, never holds up the answer."""
        ...

    def shows_drafts(self, to: Recipient) -> bool:
        """Whether an answer being written can be shown to this recipient as it grows."""
        ...

    async def show_draft(self, to: Recipient, draft_id: int, text: str) -> bool:
        """Show the answer so far (changes to one ``draft_id`` animate); False when the
        platform refused it. Best effort: never raises."""
        ...

    async def fetch_image(self, message: IncomingMessage) -> str | None:
        """A photo the person sent, as a data URL for a model that sees images; None if it
        cannot be had. Fetched with this channel's credentials, which stay here."""
        ...

    async def aclose(self) -> None: ...
