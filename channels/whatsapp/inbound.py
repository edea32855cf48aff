"""A WhatsApp webhook delivery as the contract's messages, each with its conversation.

One delivery may carry several entries, each several changes, each several messages (from several
people), plus ``statuses`` of what the business sent, which batching does not need. With the
WhatsApp Business app on the same number (coexistence), what a person of the business writes in the
app arrives in the ``smb_message_echoes`` field: each is a takeover of that customer's conversation
(:class:`channels.base.HumanReply`). The envelope must be a delivery (:class:`NotADelivery`
otherwise, a 400); a single message that cannot be read (no id, no sender, a field its type needs)
is skipped and logged with its wamid and what was wrong, so one odd message never makes Meta
redeliver, and then disable, the whole webhook. What each type becomes is in :mod:`.kinds`.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from channels.base import Author, Delivery, HumanReply, Inbound, NotADelivery
from channels.whatsapp.conversations import conversation_id
from channels.whatsapp.kinds import (
    NOT_FROM_THE_PERSON,
    Unreadable,
    content_of,
    context_of,
    referral_of,
)
from shared.models import Chat, IncomingMessage, User

log = logging.getLogger("batchbot.whatsapp")


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
    message_echoes: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    """Meta's reasons beside messages it could not deliver whole (e.g. code 131000,
    "Unsupported webhook payload", beside an ``interactive`` with no body)."""


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
    context: dict[str, Any] | None = None


def parse_delivery(raw: bytes) -> Delivery:
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
    delivery_replies: list[HumanReply] = []
    skipped = 0
    for entry in delivery.entry:
        for change in entry.changes:
            if change.value.metadata is None:
                continue
            if change.field == "smb_message_echoes":
                phone_number_id = change.value.metadata.phone_number_id
                replies = (_human_reply(phone_number_id, e) for e in change.value.message_echoes)
                delivery_replies.extend(reply for reply in replies if reply is not None)
                continue
            if change.field != "messages":
                continue
            names = {person.wa_id: person.profile.name for person in change.value.contacts}
            for raw_message in change.value.messages:
                inbound = _inbound(
                    change.value.metadata.phone_number_id, names, raw_message, change.value.errors
                )
                if inbound is None:
                    skipped += 1
                else:
                    found.append(inbound)
    return Delivery(found, human_replies=delivery_replies, skipped=skipped)


class _Echo(_Lenient):
    to: str = Field(min_length=1, max_length=64)
    type: str = "unknown"
    id: str | None = Field(default=None, max_length=256)


def _human_reply(phone_number_id: str, raw: dict[str, Any]) -> HumanReply | None:
    """A message the business sent from the WhatsApp Business app; None (logged) when it
    names no customer. ``to`` is the customer's number as the app wrote it ("+1 650...")."""
    try:
        echo = _Echo.model_validate(raw)
    except ValidationError as error:
        log.warning("WhatsApp message echo could not be read and was skipped: %s", _short(error))
        return None
    wa_id = "".join(ch for ch in echo.to if ch.isdigit())
    found = raw.get(echo.type)
    content: dict[str, Any] = found if isinstance(found, dict) else {}
    said = content.get("body") or content.get("caption") or f"[{echo.type}]"
    conversation = conversation_id(phone_number_id, wa_id)
    return HumanReply(phone_number_id, conversation, str(said), echo.id)


def _inbound(
    phone_number_id: str,
    names: dict[str, str],
    raw: dict[str, Any],
    value_errors: list[dict[str, Any]],
) -> Inbound | None:
    """One message; ``value_errors`` are the change's own ``errors``, which Meta sends
    instead of a message's body when it could not read that body."""
    wamid = raw.get("id") if isinstance(raw.get("id"), str) else "(no id)"
    try:
        head = _Message.model_validate(raw)
        if head.type in NOT_FROM_THE_PERSON:
            log.info(
                "WhatsApp message %s left out on purpose: type %s is %s",
                wamid,
                head.type,
                NOT_FROM_THE_PERSON[head.type],
            )
            return None
        fields: dict[str, Any] = {**context_of(head.context), **referral_of(raw.get("referral"))}
        fields.update(content_of(head.type, raw.get(head.type), raw, value_errors))
        message = IncomingMessage(
            message_id=head.id, date=datetime.fromtimestamp(head.timestamp, UTC), **fields
        )
    except (ValidationError, Unreadable) as error:
        log.warning(
            "WhatsApp message %s (type %s) could not be read and was skipped: %s",
            str(wamid)[:256],
            str(raw.get("type", "?"))[:64],
            _short(error),
        )
        return None
    person = head.sender
    author = Author(
        chat=Chat(id=person, type="private"),
        user=User(id=person, first_name=names.get(person, "")),
        conversation=conversation_id(phone_number_id, person),
    )
    return Inbound(account=phone_number_id, author=author, message=message)


def _short(error: Exception) -> str:
    """What was wrong, without the input that caused it (which may be a person's words)."""
    if isinstance(error, ValidationError):
        problems = error.errors(include_url=False, include_input=False)
        return "; ".join(
            f"{'.'.join(map(str, p['loc'])) or 'message'}: {p['msg']}" for p in problems
        )
    return str(error)
