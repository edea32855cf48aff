"""Every message type of WhatsApp's messages webhook, as the contract's fields.

Each type Meta documents is read here or skipped on purpose (:data:`NOT_FROM_THE_PERSON`);
a type that is not known yet is kept as kind ``other`` with its name, so a backend still
sees that the person sent something. A field a type needs but lacks raises
:class:`Unreadable` naming it (``interactive.nfm_reply.response_json is not JSON``), so
the log line says what to look for, never a bare exception name.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from shared.models import (
    Contact,
    Location,
    MessageKind,
    Order,
    OrderItem,
    ProductRef,
    Referral,
)

Fields = dict[str, Any]

NOT_FROM_THE_PERSON = {
    "system": "a notice from WhatsApp (the person changed their number or identity)",
    "request_welcome": "WhatsApp asking for a welcome message (the chat was opened)",
}
"""Types that are not something the person wrote: logged and left out of the batch."""

_MEDIA_KINDS = {
    "image": MessageKind.PHOTO,
    "video": MessageKind.VIDEO,
    "document": MessageKind.DOCUMENT,
    "sticker": MessageKind.STICKER,
}


class Unreadable(ValueError):
    """A message lacks a field its type needs; the message names the field."""


def content_of(
    kind: str, body: Any, head: dict[str, Any], value_errors: list[dict[str, Any]] | None = None
) -> Fields:
    """The contract's kind-specific fields for one WhatsApp message type (``head`` is
    the whole message, for ``unsupported`` and ``unknown``, whose reason is beside).

    A message whose body Meta left out and explained in an ``errors`` array (its own, or
    the change's ``value.errors``: an ``interactive`` it could not read, code 131000) is
    kept as an unsupported one, so the person still gets an answer."""
    if kind == "contacts":
        return {"kind": MessageKind.CONTACT, "contact": _first_contact(body)}
    if kind in ("unsupported", "unknown"):
        return _not_supported(kind, body, head)
    errors = head.get("errors") or value_errors
    if not isinstance(body, dict) and isinstance(errors, list) and errors:
        return _not_supported("unsupported", {"type": kind}, {"errors": errors})
    part = _object(body, kind)
    reader = _READERS.get(kind)
    if reader is not None:
        return reader(part)
    if kind in _MEDIA_KINDS:
        return _media(_MEDIA_KINDS[kind], part, kind)
    return {"kind": MessageKind.OTHER, "content_type": kind[:64]}


def context_of(context: Any) -> Fields:
    """What ``context`` says: a reply, a forward, a product the person asked about."""
    if not isinstance(context, dict):
        return {}
    fields: Fields = {
        "reply_to_message_id": _text_or_none(context.get("id")),
        "forwarded": True
        if context.get("forwarded") or context.get("frequently_forwarded")
        else None,
        "frequently_forwarded": True if context.get("frequently_forwarded") else None,
    }
    product = context.get("referred_product")
    if isinstance(product, dict):
        fields["product"] = ProductRef(
            catalog_id=_needed(product, "catalog_id", "context.referred_product"),
            product_id=_needed(product, "product_retailer_id", "context.referred_product"),
        )
    return fields


def referral_of(referral: Any) -> Fields:
    """A click-to-WhatsApp ad's referral, where the message has one."""
    if not isinstance(referral, dict):
        return {}
    known = {name: _text_or_none(referral.get(name)) for name in Referral.model_fields}
    return {"referral": Referral(**known)}


def _object(body: Any, where: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise Unreadable(f"{where} is missing or not an object")
    return body


def _needed(part: dict[str, Any], name: str, where: str) -> Any:
    value = part.get(name)
    if value is None:
        raise Unreadable(f"{where}.{name} is missing")
    return value


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _text(part: dict[str, Any]) -> Fields:
    return {"kind": MessageKind.TEXT, "text": _needed(part, "body", "text")}


def _media(kind: MessageKind, part: dict[str, Any], where: str) -> Fields:
    return {
        "kind": kind,
        "file_id": _needed(part, "id", where),
        "mime_type": part.get("mime_type"),
        "caption": part.get("caption"),
        "file_name": part.get("filename"),
    }


def _audio(part: dict[str, Any]) -> Fields:
    return _media(MessageKind.VOICE if part.get("voice") else MessageKind.AUDIO, part, "audio")


def _location(part: dict[str, Any]) -> Fields:
    for name in ("latitude", "longitude"):
        _needed(part, name, "location")
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


def _interactive(part: dict[str, Any]) -> Fields:
    """A tapped reply button or list row (its title as text, its id as choice), or a
    WhatsApp Flow's answers (``nfm_reply``: its body as text, its answers as data)."""
    kind = _needed(part, "type", "interactive")
    choice = _object(part.get(kind), f"interactive.{kind}")
    if kind == "nfm_reply":
        return {
            "kind": MessageKind.INTERACTIVE,
            "text": _text_or_none(choice.get("body")),
            "content_type": f"nfm_reply:{_text_or_none(choice.get('name')) or 'flow'}"[:64],
            "data": _answers(choice),
        }
    return {
        "kind": MessageKind.INTERACTIVE,
        "text": _text_or_none(choice.get("title")) or _text_or_none(choice.get("description")),
        "choice_id": _needed(choice, "id", f"interactive.{kind}"),
    }


def _answers(reply: dict[str, Any]) -> dict[str, Any]:
    """A Flow's ``response_json``: a JSON object, sent as a string."""
    raw = _needed(reply, "response_json", "interactive.nfm_reply")
    try:
        answers = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        raise Unreadable("interactive.nfm_reply.response_json is not JSON") from None
    if not isinstance(answers, dict):
        raise Unreadable("interactive.nfm_reply.response_json is not a JSON object")
    return answers


def _button(part: dict[str, Any]) -> Fields:
    """A quick-reply button of a template message."""
    text = _needed(part, "text", "button")
    return {"kind": MessageKind.INTERACTIVE, "text": text, "choice_id": part.get("payload") or text}


def _reaction(part: dict[str, Any]) -> Fields:
    return {
        "kind": MessageKind.REACTION,
        "emoji": part.get("emoji") or None,
        "reply_to_message_id": _needed(part, "message_id", "reaction"),
    }


def _order(part: dict[str, Any]) -> Fields:
    items = part.get("product_items")
    if not isinstance(items, list) or not items:
        raise Unreadable("order.product_items is missing or empty")
    return {
        "kind": MessageKind.ORDER,
        "text": _text_or_none(part.get("text")),
        "order": Order(
            catalog_id=_needed(part, "catalog_id", "order"),
            items=[
                OrderItem(
                    product_id=_needed(item, "product_retailer_id", "order.product_items"),
                    quantity=_needed(item, "quantity", "order.product_items"),
                    item_price=item.get("item_price"),
                    currency=item.get("currency"),
                )
                for item in (_object(item, "order.product_items") for item in items)
            ],
        ),
    }


def _not_supported(kind: str, body: Any, head: dict[str, Any]) -> Fields:
    """A message Cloud API cannot show (a poll, an edit, a view-once photo...): kept, with
    Meta's error title as its text, so the backend can ask the person to send it again."""
    errors = head.get("errors")
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    title = _text_or_none(first.get("title")) or "Message type unknown"
    inner = _text_or_none(body.get("type")) if isinstance(body, dict) else None
    return {
        "kind": MessageKind.OTHER,
        "content_type": f"{kind}:{inner}"[:64] if inner else kind,
        "text": title,
    }


_READERS: dict[str, Callable[[dict[str, Any]], Fields]] = {
    "text": _text,
    "audio": _audio,
    "location": _location,
    "interactive": _interactive,
    "button": _button,
    "reaction": _reaction,
    "order": _order,
}
