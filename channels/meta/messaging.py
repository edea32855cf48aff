"""A Messenger Platform delivery (Instagram Direct, Facebook Messenger) as the contract's messages:
``{"object", "entry": [{"id": <account>, "messaging": [event, ...]}]}``.

Each event is one of: a ``message`` (text, attachments, a quick reply, a reply, or ``is_deleted`` /
``is_echo`` / ``is_unsupported``), a ``postback`` (a button tapped), a ``reaction``; ``read`` and
``delivery`` receipts are left out. Echoes (``is_echo``) are what the page or account itself sent,
never batched: the bot's own (they carry its ``metadata``,
:data:`channels.meta.send_api.OUR_METADATA`) are counted; any other was written by a person of the
business (Meta's inbox, the app) and is a takeover. An event that cannot be read is skipped and
logged with its ``mid`` and what was wrong, so one odd event never makes Meta redeliver the whole
delivery. A message with several attachments becomes one message per attachment, ids ``<mid>``,
``<mid>/2``..., held together as an album.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from channels.base import Author, Delivery, HumanReply, Inbound, NotADelivery, Removal
from channels.meta.attachments import Unreadable, attachments_of
from channels.meta.send_api import OUR_METADATA
from shared.models import Chat, IncomingMessage, MessageKind, User

log = logging.getLogger("batchbot.meta")


@dataclass(frozen=True, slots=True)
class Platform:
    """What differs between Instagram and Messenger on the way in."""

    name: str
    object: str
    """The delivery's ``object``: ``instagram`` or ``page``."""
    conversation: Callable[[str, str], str]
    """(account id, the person's scoped id) to the conversation id."""

    @property
    def a_delivery(self) -> str:
        """ "an Instagram webhook delivery", "a Messenger webhook delivery"."""
        article = "an" if self.name[:1].lower() in "aeiou" else "a"
        return f"{article} {self.name} webhook delivery"


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Change(_Lenient):
    field: str = ""
    value: dict[str, Any] = {}


class _Entry(_Lenient):
    id: str = Field(min_length=1, max_length=64)
    messaging: list[dict[str, Any]] = []
    changes: list[_Change] = []
    """Instagram sends some events (a postback: ``messaging_postbacks``) as a change
    whose value is the same event the ``messaging`` form carries."""


CHANGE_FIELDS = {"messaging_postbacks"}
"""The ``changes`` fields that carry a messaging event; any other change (comments,
mentions, insights) is not a message to the account."""


class _Envelope(_Lenient):
    object: str
    entry: list[_Entry]


class _Party(_Lenient):
    id: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_-]+$")


class _Event(_Lenient):
    sender: _Party
    recipient: _Party
    timestamp: int = Field(ge=0, lt=2**44)


def parse_messaging(platform: Platform, raw: bytes) -> Delivery:
    """Every message of a delivery, in the order sent; NotADelivery for another body."""
    try:
        envelope = _Envelope.model_validate_json(raw)
    except ValidationError as error:
        problem = error.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in problem["loc"]) or "the body"
        raise NotADelivery(
            f"not {platform.a_delivery} ({where}: {problem['msg']}); expected "
            f'JSON like {{"object": "{platform.object}", "entry": [{{"messaging": [...]}}]}}'
        ) from None
    if envelope.object != platform.object:
        raise NotADelivery(
            f'not {platform.a_delivery}: its object is "{envelope.object[:40]}", '
            f'not "{platform.object}" (is the app\'s webhook for this product pointed at the '
            "right path?)"
        )
    delivery = Delivery(messages=[])
    for entry in envelope.entry:
        for event in entry.messaging:
            _add(platform, entry.id, event, delivery)
        for change in entry.changes:
            if change.field in CHANGE_FIELDS:
                _add(platform, entry.id, _as_messaging_event(change.value), delivery)
    return delivery


def _as_messaging_event(value: dict[str, Any]) -> dict[str, Any]:
    """A change's value as a ``messaging`` event: Meta's examples of this form give the
    timestamp in seconds, sometimes as a string; the messaging form uses milliseconds."""
    stamp = value.get("timestamp")
    if isinstance(stamp, str) and stamp.isdigit():
        stamp = int(stamp)
    if isinstance(stamp, int) and stamp < 10**11:
        stamp *= 1000
    return {**value, "timestamp": stamp}


def _add(platform: Platform, account: str, raw: dict[str, Any], delivery: Delivery) -> None:
    """One event into the delivery being read: messages, a removal, or a count."""
    message = raw.get("message") if isinstance(raw.get("message"), dict) else None
    mid = str((message or {}).get("mid") or "(no mid)")[:256]
    try:
        if not any(key in raw for key in ("message", "postback", "reaction")):
            return  # receipts and the like: nothing a person wrote
        event = _Event.model_validate(raw)
        if message is not None and message.get("is_echo"):
            _add_echo(platform, account, event.recipient.id, message, delivery)
            return
        person = event.sender.id
        conversation = platform.conversation(account, person)
        if message is not None and message.get("is_deleted"):
            delivery.removals.append(Removal(account, conversation, _required(message, "mid")))
            return
        author = Author(
            chat=Chat(id=person, type="private"),
            user=User(id=person, first_name=""),
            conversation=conversation,
        )
        at = datetime.fromtimestamp(event.timestamp / 1000, UTC)
        delivery.messages.extend(
            Inbound(account, author, IncomingMessage(date=at, **fields))
            for fields in _contents(raw, person, event.timestamp)
        )
    except (ValidationError, Unreadable) as error:
        log.warning(
            "%s event %s could not be read and was skipped: %s", platform.name, mid, _short(error)
        )
        delivery.skipped += 1


def _add_echo(
    platform: Platform, account: str, person: str, message: dict[str, Any], delivery: Delivery
) -> None:
    """What the account sent ``person``: the bot's own echo, or a human's reply."""
    mid = str(message.get("mid") or "(no mid)")[:256]
    if message.get("metadata") == OUR_METADATA:
        log.debug("%s echo %s (sent by the bot) not batched", platform.name, mid)
        delivery.echoes += 1
        return
    said = message.get("text") if isinstance(message.get("text"), str) else ""
    conversation = platform.conversation(account, person)
    log.info("%s echo %s: a person of the business wrote to %s", platform.name, mid, conversation)
    message_id = mid if mid != "(no mid)" else None
    reply = HumanReply(account, conversation, said or "[attachment]", message_id)
    delivery.human_replies.append(reply)


def _contents(raw: dict[str, Any], person: str, timestamp: int) -> list[dict[str, Any]]:
    """The contract's fields of each message one event carries."""
    if "postback" in raw:
        postback = _object(raw, "postback")
        return [
            {
                "message_id": str(postback.get("mid") or f"postback:{person}:{timestamp}"),
                "kind": MessageKind.INTERACTIVE,
                "text": postback.get("title") or None,
                "choice_id": _required(postback, "payload"),
                "content_type": "postback",
            }
        ]
    if "reaction" in raw:
        reaction = _object(raw, "reaction")
        reacted_to = _required(reaction, "mid")
        removed = reaction.get("action") == "unreact"
        return [
            {
                "message_id": f"reaction:{reacted_to}:{timestamp}",
                "kind": MessageKind.REACTION,
                "emoji": None if removed else reaction.get("emoji") or reaction.get("reaction"),
                "reply_to_message_id": reacted_to,
            }
        ]
    return _message_contents(_object(raw, "message"))


def _message_contents(message: dict[str, Any]) -> list[dict[str, Any]]:
    mid = _required(message, "mid")
    common = _reply_of(message.get("reply_to"))
    text = message.get("text") if isinstance(message.get("text"), str) else None
    quick_reply = message.get("quick_reply")
    if isinstance(quick_reply, dict):
        choice = _required(quick_reply, "payload")
        return [{"message_id": mid, "kind": MessageKind.INTERACTIVE, "text": text,
                 "choice_id": choice, "content_type": "quick_reply", **common}]  # fmt: skip
    if message.get("is_unsupported"):
        return [{"message_id": mid, "kind": MessageKind.OTHER, "content_type": "unsupported"}]
    attached = attachments_of(message)
    if len(attached) > 1:  # one album
        for item in attached:
            item["media_group_id"] = mid
    found = [{"kind": MessageKind.TEXT, "text": text}] if text is not None else []
    found += attached
    if not found:
        raise Unreadable("message: neither text nor attachments")
    for index, item in enumerate(found):
        item["message_id"] = mid if index == 0 else f"{mid}/{index + 1}"
    found[0].update(common)
    return found


def _reply_of(reply_to: Any) -> dict[str, Any]:
    """A reply to one of the conversation's messages, or (Instagram) to the account's story."""
    if not isinstance(reply_to, dict):
        return {}
    if isinstance(reply_to.get("mid"), str):
        return {"reply_to_message_id": reply_to["mid"]}
    story = reply_to.get("story")
    if isinstance(story, dict):
        return {"data": {"reply_to_story": {"id": story.get("id"), "url": story.get("url")}}}
    return {}


def _object(raw: dict[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key)
    if not isinstance(value, dict):
        raise Unreadable(f"{key}: expected an object")
    return value


def _required(raw: dict[str, Any], key: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str | int) or value == "":
        raise Unreadable(f"{key}: missing")
    return str(value)[:256]


def _short(error: Exception) -> str:
    """What was wrong, without the input that caused it (which may be a person's words)."""
    if isinstance(error, ValidationError):
        problems = error.errors(include_url=False, include_input=False)
        return "; ".join(f"{'.'.join(map(str, p['loc'])) or 'event'}: {p['msg']}" for p in problems)
    return str(error)
