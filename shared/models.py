"""The wire contract with the backend (v1) and the normalised form of one incoming message.

Field names here are the contract: adding a field is fine, renaming one breaks every
backend. ``schemas/*.schema.json`` is generated from these models and a test fails
when the two drift apart.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.channel_names import Channel
from shared.message_parts import (
    Business,
    BusinessOwner,
    Contact,
    Location,
    Order,
    OrderItem,
    ProductRef,
    Referral,
)

__all__ = [
    "Business",
    "BusinessOwner",
    "Channel",
    "Contact",
    "Location",
    "Order",
    "OrderItem",
    "ProductRef",
    "Referral",
]


class MessageKind(StrEnum):
    TEXT = "text"
    PHOTO = "photo"
    VIDEO = "video"
    VOICE = "voice"
    AUDIO = "audio"
    DOCUMENT = "document"
    STICKER = "sticker"
    LOCATION = "location"
    CONTACT = "contact"
    REACTION = "reaction"
    INTERACTIVE = "interactive"
    ORDER = "order"
    OTHER = "other"


MessageId = int | str
"""Telegram's message ids are numbers; WhatsApp's (``wamid``) are strings."""


class Chat(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int | str = Field(
        description="Telegram's chat id, or on WhatsApp the person's wa_id (their phone "
        "number, digits only, as a string)"
    )
    type: str = Field(description="private, group, supergroup or channel")
    title: str | None = None
    username: str | None = None


class User(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int | str = Field(description="Telegram's user id, or on WhatsApp the wa_id")
    first_name: str = Field(description="On WhatsApp the profile name (may be empty)")
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None


class IncomingMessage(BaseModel):
    """One message of a burst, reduced to what a backend needs to understand it.

    Media carry Telegram's ``file_id``, which a backend fetches with the Bot API's
    getFile using the same bot token, or WhatsApp's media id, which it fetches with the
    Graph API (``GET /<media id>``, then the URL it gives) using the same access token.
    """

    message_id: MessageId = Field(
        description="Telegram's message id (a number), or WhatsApp's wamid (a string)"
    )
    date: datetime
    kind: MessageKind
    text: str | None = None
    caption: str | None = None
    file_id: str | None = None
    url: str | None = Field(
        default=None,
        description="Instagram and Messenger: where the attachment can be fetched (Meta's "
        "CDN; the link expires)",
    )
    file_unique_id: str | None = None
    mime_type: str | None = None
    file_name: str | None = None
    duration: int | None = Field(
        default=None, description="A voice note's, audio's or video's length in seconds"
    )
    transcript: str | None = Field(
        default=None,
        description="A voice note's or audio's words, transcribed while the person was "
        "still writing (TRANSCRIBE_URL); absent when transcription is off",
    )
    transcript_error: str | None = Field(
        default=None,
        description="Why a voice note or audio has no transcript: the file could not be "
        "fetched, was over the cap, or transcription failed or took too long",
    )
    emoji: str | None = Field(
        default=None, description="A sticker's emoji, or a reaction's (absent: reaction removed)"
    )
    media_group_id: str | None = None
    reply_to_message_id: MessageId | None = Field(
        default=None,
        description="The earlier message of the chat this one replies to (for a reaction: "
        "the message reacted to)",
    )
    forwarded: bool | None = Field(
        default=None, description="True when the person forwarded it from elsewhere"
    )
    addresses_bot: bool | None = Field(
        default=None,
        description="In a group: the message mentions the bot or replies to it; "
        "absent in private chats, where every message does",
    )
    location: Location | None = None
    contact: Contact | None = None
    choice_id: str | None = Field(
        default=None,
        description="Kind 'interactive': the id of the button or list row the person "
        "chose (its title is the text)",
    )
    content_type: str | None = Field(
        default=None,
        description="The platform's own type of the message, for kind 'other' (and for a "
        "WhatsApp Flow's answers, e.g. nfm_reply:flow)",
    )
    data: dict[str, Any] | None = Field(
        default=None,
        description="Kind 'interactive': what the person filled in, e.g. a WhatsApp Flow's "
        "answers (Meta's response_json, parsed); its body is the text",
    )
    order: Order | None = Field(
        default=None, description="Kind 'order': the cart; its note is the text"
    )
    product: ProductRef | None = Field(
        default=None, description="The catalog item the person asked about (WhatsApp)"
    )
    referral: Referral | None = Field(
        default=None, description="The ad or post the person came from (WhatsApp)"
    )
    frequently_forwarded: bool | None = Field(
        default=None, description="True when the message was forwarded many times (WhatsApp)"
    )

    def words(self) -> str | None:
        """The words of this message, if any: text or caption, or what a voice note said
        (its transcript, then any caption)."""
        if self.transcript:
            return f"{self.transcript} {self.caption or ''}".strip()
        return self.text if self.text is not None else self.caption


class Turn(BaseModel):
    """One earlier turn of the conversation, for backends that keep no memory themselves."""

    role: Literal["user", "assistant"]
    text: str = Field(
        description="user: one earlier batch's text; assistant: what was actually delivered"
    )
    at: datetime
    by: Literal["human"] | None = Field(
        default=None,
        description="human: an assistant turn a person wrote while they had the conversation",
    )


class BatchRequest(BaseModel):
    """What the worker POSTs to BACKEND_URL: one whole burst of one person."""

    batch_id: str = Field(description="Stable id of this batch, the same on every retry")
    channel: Channel = Field(
        default=Channel.TELEGRAM, description="Where the person wrote, and where the answer goes"
    )
    chat: Chat
    user: User
    messages: list[IncomingMessage] = Field(min_length=1)
    text: str = Field(
        description="Every text, caption and voice note's transcript of the batch, in order, "
        "joined by \\n"
    )
    history: list[Turn] | None = Field(
        default=None,
        description="With HISTORY_TURNS set: the conversation's last turns before this batch, "
        "oldest first (absent otherwise)",
    )
    business: Business | None = Field(
        default=None,
        description="Telegram Business chats: the connection and the account's owner (absent "
        "otherwise)",
    )

    @classmethod
    def build(
        cls,
        batch_id: str,
        chat: Chat,
        user: User,
        messages: list[IncomingMessage],
        channel: Channel = Channel.TELEGRAM,
    ) -> BatchRequest:
        """Messages in the order they were written: by message id where the platform
        numbers them (Telegram), else (Meta's string ids) by timestamp, then arrival
        (``messages`` come in arrival order, and the sort is stable)."""
        if all(isinstance(message.message_id, int) for message in messages):
            ordered = sorted(messages, key=lambda message: int(message.message_id))
        else:
            ordered = sorted(messages, key=lambda message: message.date)
        words = [w for w in (message.words() for message in ordered) if w]
        return cls(
            batch_id=batch_id,
            channel=channel,
            chat=chat,
            user=user,
            messages=ordered,
            text="\n".join(words),
        )


class OutgoingMessage(BaseModel):
    """One message of the answer: text, or a photo with the text as its caption."""

    model_config = ConfigDict(extra="ignore")

    text: str | None = Field(default=None, min_length=1)
    photo: str | None = Field(
        default=None,
        min_length=1,
        description="An https URL, a Telegram file_id or a WhatsApp media id; the text "
        "becomes its caption "
        "(the first 1,024 characters; the rest follows as text)",
    )
    parse_mode: Literal["HTML", "MarkdownV2", "Markdown"] | None = Field(
        default=None,
        description="Telegram formatting; if Telegram rejects the markup, the text is sent "
        "plain. On WhatsApp the markup is taken out and the text sent plain (WhatsApp's own "
        "*bold* and _italic_ need no parse_mode)",
    )
    reply_to_message_id: MessageId | None = Field(
        default=None,
        description="Show this message as a reply to one of the chat's messages; in groups "
        "the answer's first message replies to the batch's last one unless this is set",
    )

    @model_validator(mode="after")
    def _text_or_photo(self) -> OutgoingMessage:
        if self.text is None and self.photo is None:
            raise ValueError("a message needs text, a photo, or both")
        return self


class BatchResponse(BaseModel):
    """The backend's answer: messages to send in order; an empty list means stay silent."""

    model_config = ConfigDict(extra="ignore")

    messages: list[OutgoingMessage]
    handoff: bool = Field(
        default=False,
        description="true: after these messages a human takes the conversation over "
        "(HANDOFF_SECONDS); the assistant answers nothing until the pause ends",
    )


class StreamDelta(BaseModel):
    """The data of a streamed answer's ``event: delta``: the next piece of its text.

    A backend may answer ``text/event-stream`` instead of JSON: any number of deltas,
    then one ``event: answer`` whose data is the whole BatchResponse; only that answer
    is stored and sent for good, and a stream that ends without it is asked again.
    """

    text: str = Field(description="The next piece of the answer's text, appended as is")


def to_json(model: BaseModel) -> str:
    """The one way models become JSON in Redis and on the wire: compact, no nulls."""
    return model.model_dump_json(exclude_none=True)
