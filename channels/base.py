"""What every channel offers the rest of batchbot: the interfaces intake and delivery are
written to.

- Intake: an :class:`Author` (chat, person, conversation) per message; a channel that
  receives webhooks on the Meta listener turns a delivery into a :class:`Delivery`
  (:class:`WebhookIntake`).
- Delivery: a sender gets a :class:`Recipient` (the conversation, which names the chat
  on its own platform) and sends one reply part at a time; it raises only the outcomes
  of :mod:`channels.outcomes`.

The delivery loop, retries and dead letters stay as they are for every channel
(README: "Adding a channel").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from channels.media import Media
from shared.models import Channel, Chat, IncomingMessage, MessageId, User
from shared.pipelining import NotReplicated
from shared.store import BatchStore


@dataclass(frozen=True, slots=True)
class Author:
    """Who wrote a message, the chat it was written in, and so the conversation (and
    batch) it belongs to."""

    chat: Chat
    user: User
    conversation: str


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message of a webhook delivery, with its author and the business account
    (number, page, Instagram account) it was written to."""

    account: str
    author: Author
    message: IncomingMessage


@dataclass(frozen=True, slots=True)
class Removal:
    """The person deleted (unsent) a message: its pending copy goes."""

    account: str
    conversation: str
    message_id: MessageId


@dataclass(frozen=True, slots=True)
class HumanReply:
    """A person of the business wrote to the customer themselves (the platform's inbox or
    app): a takeover of the conversation (:mod:`shared.handoff`)."""

    account: str
    conversation: str
    said: str
    message_id: str | None = None
    """The platform's id of what the human wrote: a redelivery of it is held once."""


@dataclass(slots=True)
class Delivery:
    """What one webhook delivery holds for batching, in the order it came (filled in as
    the delivery is read)."""

    messages: list[Inbound]
    removals: list[Removal] = field(default_factory=list)
    human_replies: list[HumanReply] = field(default_factory=list)
    echoes: int = 0
    """Messages the bot itself sent, echoed back: never batched."""
    skipped: int = 0
    """Messages that could not be read and were left out (logged, without content)."""


class NotADelivery(ValueError):
    """The body is not this channel's webhook delivery; the message says what was expected."""


class WebhookIntake(Protocol):
    """A channel Meta delivers to (``/webhook/<channel>`` on the Meta listener): which
    account it serves, how a delivery is verified, and how it reads. The listener only
    routes bytes here."""

    @property
    def channel(self) -> Channel: ...

    @property
    def account(self) -> str:
        """The business account served; messages to any other are ignored."""
        ...

    @property
    def account_setting(self) -> str:
        """The setting that names :attr:`account`, for the log line of an ignored one."""
        ...

    def subscribes(self, mode: str | None, verify_token: str | None) -> bool:
        """Whether a subscription check (``GET``) carries this deployment's verify token."""
        ...

    def authentic(self, raw: bytes, headers: Mapping[str, str]) -> bool:
        """Whether the body is signed as the platform signs it, checked on the raw bytes
        before anything is parsed."""
        ...

    @property
    def not_authentic(self) -> str:
        """What a refused delivery is told (which header, signed with what)."""
        ...

    def parse(self, raw: bytes) -> Delivery:
        """The delivery's messages; NotADelivery when the body is not one."""
        ...


class NotStored(Exception):
    """What a delivery carried (a message, a deletion, a human's takeover) could not be
    stored for good in time; the platform must deliver it again (webhooks). ``cause``
    says why, for the log line an operator reads."""

    @property
    def cause(self) -> str:
        if isinstance(self.__cause__, NotReplicated):
            return "Redis took it but its replicas did not confirm it: REDIS_WAIT_REPLICAS"
        return "Redis unreachable"


class Intake(Protocol):
    """What the bot does with what any channel receives (``bot.intake.StoringIntake``):
    every write retried while Redis or its replicas cannot take it, then counted and
    logged; NotStored once a webhook's platform had better deliver again."""

    @property
    def store(self) -> BatchStore:
        """For what only a channel does: an edit, ``/clear``, its own records."""
        ...

    @property
    def shutdown_grace_seconds(self) -> float:
        """On SIGTERM, how long writes in progress may take to finish."""
        ...

    def patient(self) -> Intake:
        """The same intake, never giving up: for a channel whose platform keeps what was
        not confirmed (Telegram polling), waiting holds up nothing."""
        ...

    async def message(self, channel: Channel, author: Author, message: IncomingMessage) -> None:
        """Into its person's pending batch."""
        ...

    async def removal(self, removal: Removal) -> None:
        """The person deleted it: its pending copy goes (logged either way)."""
        ...

    async def human_reply(self, reply: HumanReply) -> None:
        """A person of the business wrote: the conversation is taken over (unless
        takeovers are off)."""
        ...

    async def stop(self, conversation: str, draft_id: int) -> None:
        """The person pressed Stop on the draft ``draft_id``: its batch's answer stops,
        unless a part of it went out already (logged either way)."""
        ...


@dataclass(frozen=True, slots=True)
class Recipient:
    """Whom a reply goes to, and the message it answers."""

    conversation: str
    """The conversation id (:mod:`shared.keys`): each channel reads its chat from it."""
    last_message_id: MessageId | None = None
    """The batch's last message, which WhatsApp's typing indicator marks as read; None
    for proactive messages, which answer nothing."""


@dataclass(frozen=True, slots=True)
class Limits:
    """The longest text and caption the platform accepts, in characters."""

    text: int
    caption: int
    text_bytes: int | None = None
    """Where the platform counts UTF-8 bytes of a text too (Instagram: 1,000)."""


class MessageEdits(Protocol):
    """An answer shown as it is written where a chat has no drafts: sent as a message once
    its first piece comes, then edited as it grows (Telegram Business chats and groups).
    Errors are :mod:`channels.outcomes`, as for sending."""

    @property
    def interval_seconds(self) -> float:
        """The least time between two edits the platform's limits allow in this chat."""
        ...

    async def send(self, text: str, reply_to: MessageId | None) -> MessageId:
        """Send the first piece of a message that will grow; its id, for the edits."""
        ...

    async def edit(self, message_id: MessageId, text: str, parse_mode: str | None) -> None:
        """Show ``text`` in the message; the same text again is no error."""
        ...

    async def delete(self, message_id: MessageId) -> None:
        """Best effort: a grown message the answer turned out not to need."""
        ...


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

    @property
    def keep_on_stop(self) -> bool:
        """When the person stops an answer being written, whether what was written so far
        stays, sent as a message (only where drafts have a Stop button)."""
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

    async def show_draft(
        self, to: Recipient, draft_id: int, text: str, reasoning: str = ""
    ) -> bool:
        """Show the answer so far (changes to one ``draft_id`` animate; empty text: a
        "Thinking…" placeholder), with the model's reasoning so far above it when there is
        some; False when the platform refused it. Best effort: never raises."""
        ...

    def edits_for(self, to: Recipient) -> MessageEdits | None:
        """Where there are no drafts but a sent message can be edited: how an answer
        grows there as it is written; None where it cannot."""
        ...

    async def fetch_media(self, message: IncomingMessage, max_bytes: int) -> Media:
        """The file of a message the person sent (a photo, a voice note), fetched with this
        channel's credentials, which stay here. Raises MediaUnavailable saying why not."""
        ...

    async def aclose(self) -> None: ...
