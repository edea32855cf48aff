"""A WhatsApp webhook delivery as the contract's messages, each with its conversation.

One delivery may carry several entries, each several changes, each several messages
(from several people), plus ``statuses`` of what the business sent, which batching does
not need. The envelope must be a delivery (:class:`NotADelivery` otherwise, a 400); a
single message that cannot be read (no id, no sender) is skipped and counted, so one
odd message never makes Meta redeliver, and then disable, the whole webhook.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.keys import whatsapp_conversation_id
from shared.models import Chat, Contact, IncomingMessage, Location, MessageKind, User

log = logging.getLogger("batchbot.whatsapp")

_MEDIA_KINDS = {
    "image": MessageKind.PHOTO,
    "video": MessageKind.VIDEO,
    "document": MessageKind.DOCUMENT,
    "sticker": MessageKind.STICKER,
}


class NotADelivery(ValueError):
    """The body is not a WhatsApp webhook delivery; the message says what was expected."""


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Profile(_Lenient):
    name: str = ""


class _Person(_Lenient):
    wa_id: str
    profile: _Profile = _Profile()


class _Metadata(_Lenient):
    phone_number_id: str = Field(min_length=1, max_length=64)


class _Value(_Lenient):
    metadata: _Metadata | None = None
    contacts: list[_Person] = []
    messages: list[dict[str, Any]] = []


class _Change(_Lenient):
    field: str = ""
    value: _Value


class _Entry(_Lenient):
    changes: list[_Change] = []


class _Delivery(_Lenient):
    object: Literal["whatsapp_business_account"]
    entry: list[_Entry]


class _Message(_Lenient):
    """The fields every message has; its content is under the key named by ``type``."""

    id: str = Field(min_length=1, max_length=256, pattern=r'^[^"\\]+$')
    sender: str = Field(alias="from", min_length=1, max_length=64, pattern=r"^[0-9A-Za-z.+_-]+$")
    timestamp: int = Field(ge=0, lt=2**40)
    type: str = "unknown"
    context: dict[str, Any] = {}


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message of a delivery with who sent it and the conversation it joins."""

    conversation: str
    phone_number_id: str
    chat: Chat
    user: User
    message: IncomingMessage


@dataclass(frozen=True, slots=True)
class ParsedDelivery:
    messages: list[Inbound]
    skipped: int
    """Messages that could not be read and were left out (logged, without content)."""


def parse_delivery(raw: bytes) -> ParsedDelivery:
    """Every message of a delivery, in the order sent; NotADelivery for another body."""
    try:
        delivery = _Delivery.model_validate_json(raw)
    except ValidationError as error:
        problem = error.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in problem["loc"]) or "the body"
        raise NotADelivery(
            f"not a WhatsApp webhook delivery ({where}: {problem['msg']}); expected JSON "
            'like {"object": "whatsapp_business_account", "entry": [...]}'
        ) from None
    found: list[Inbound] = []
    skipped = 0
    for entry in delivery.entry:
        for change in entry.changes:
            if change.field != "messages" or change.value.metadata is None:
                continue
            names = {person.wa_id: person.profile.name for person in change.value.contacts}
            for raw_message in change.value.messages:
                inbound = _inbound(change.value.metadata.phone_number_id, names, raw_message)
                if inbound is None:
                    skipped += 1
                else:
                    found.append(inbound)
    return ParsedDelivery(found, skipped)


def _inbound(phone_number_id: str, names: dict[str, str], raw: dict[str, Any]) -> Inbound | None:
    try:
        head = _Message.model_validate(raw)
        fields: dict[str, Any] = {
            "reply_to_message_id": _text_or_none(head.context.get("id")),
            "forwarded": True if head.context.get("forwarded") else None,
        }
        fields.update(_content(head.type, raw.get(head.type)))
        message = IncomingMessage(
            message_id=head.id, date=datetime.fromtimestamp(head.timestamp, UTC), **fields
        )
    except (ValidationError, LookupError, TypeError, ValueError, AttributeError) as error:
        log.warning("a WhatsApp message could not be read and was skipped: %s", _short(error))
        return None
    person = head.sender
    return Inbound(
        conversation=whatsapp_conversation_id(phone_number_id, person),
        phone_number_id=phone_number_id,
        chat=Chat(id=person, type="private"),
        user=User(id=person, first_name=names.get(person, "")),
        message=message,
    )


def _short(error: Exception) -> str:
    """An error without the input that caused it (which may be a person's words)."""
    if isinstance(error, ValidationError):
        problems = error.errors(include_url=False, include_input=False)
        return "; ".join(f"{'.'.join(map(str, p['loc']))}: {p['msg']}" for p in problems)
    return type(error).__name__


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _content(kind: str, body: Any) -> dict[str, Any]:
    """The contract's kind-specific fields for one WhatsApp message type."""
    if kind == "contacts":
        return {"kind": MessageKind.CONTACT, "contact": _first_contact(body)}
    part: dict[str, Any] = body if isinstance(body, dict) else {}
    reader = _READERS.get(kind)
    if reader is not None:
        return reader(part)
    if kind in _MEDIA_KINDS:
        return _media(_MEDIA_KINDS[kind], part)
    return {"kind": MessageKind.OTHER, "content_type": kind[:64]}


def _text(part: dict[str, Any]) -> dict[str, Any]:
    return {"kind": MessageKind.TEXT, "text": part["body"]}


def _media(kind: MessageKind, part: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": kind,
        "file_id": part["id"],
        "mime_type": part.get("mime_type"),
        "caption": part.get("caption"),
        "file_name": part.get("filename"),
    }


def _audio(part: dict[str, Any]) -> dict[str, Any]:
    return _media(MessageKind.VOICE if part.get("voice") else MessageKind.AUDIO, part)


def _location(part: dict[str, Any]) -> dict[str, Any]:
    return {"kind": MessageKind.LOCATION, "location": Location.model_validate(part)}


def _first_contact(cards: Any) -> Contact:
    """The first shared contact (the contract has one per message) with its first phone."""
    card = cards[0] if isinstance(cards, list) and cards else {}
    name = card.get("name", {})
    phones = card.get("phones") or [{}]
    return Contact(
        phone_number=phones[0].get("phone", ""),
        first_name=name.get("first_name") or name.get("formatted_name", ""),
        last_name=name.get("last_name"),
    )


def _interactive(part: dict[str, Any]) -> dict[str, Any]:
    """A tapped reply button or chosen list row: its title as text, its id as choice."""
    choice = part.get(part.get("type", ""), {})
    return {"kind": MessageKind.INTERACTIVE, "text": choice["title"], "choice_id": choice["id"]}


def _button(part: dict[str, Any]) -> dict[str, Any]:
    """A quick-reply button of a template message."""
    return {
        "kind": MessageKind.INTERACTIVE,
        "text": part["text"],
        "choice_id": part.get("payload", part["text"]),
    }


def _reaction(part: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": MessageKind.REACTION,
        "emoji": part.get("emoji") or None,
        "reply_to_message_id": part["message_id"],
    }


_READERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "text": _text,
    "audio": _audio,
    "location": _location,
    "interactive": _interactive,
    "button": _button,
    "reaction": _reaction,
}
