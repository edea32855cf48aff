"""Messenger Platform deliveries (Instagram, Messenger) as Meta writes them, for the
stand-ins, the tests and the benchmarks: ``{"object", "entry": [{"id", "time",
"messaging": [...]}]}`` with the documented event shapes."""

from __future__ import annotations

import itertools
import time
from typing import Any

SANDBOX_INSTAGRAM_ACCOUNT_ID = "17841400000000001"
SANDBOX_PAGE_ID = "104000000000001"
_mids = itertools.count(1)


def next_mid() -> str:
    """A message id shaped like Meta's (``m_`` then a long opaque string)."""
    return f"m_sandbox{next(_mids):06d}-{time.time_ns() % 10**9:09d}"


def event(person: str, account: str, **content: Any) -> dict[str, Any]:
    """One ``messaging`` event from a person to the account."""
    return {
        "sender": {"id": person},
        "recipient": {"id": account},
        "timestamp": int(time.time() * 1000),
        **content,
    }


def text_event(person: str, account: str, text: str, **extra: Any) -> dict[str, Any]:
    return event(person, account, message={"mid": next_mid(), "text": text, **extra})


def attachments_event(person: str, account: str, *items: tuple[str, str]) -> dict[str, Any]:
    """(type, url) attachments in one message, e.g. ("image", "https://...")."""
    attachments = [{"type": kind, "payload": {"url": url}} for kind, url in items]
    return event(person, account, message={"mid": next_mid(), "attachments": attachments})


def echo_event(
    person: str, account: str, text: str, metadata: str | None = None, mid: str | None = None
) -> dict[str, Any]:
    """What the account itself sent the person: Meta echoes the ``metadata`` the sender
    gave (the bot's); a person writing in Meta's inbox gives none."""
    message: dict[str, Any] = {"mid": mid or next_mid(), "text": text, "is_echo": True}
    if metadata is not None:
        message["metadata"] = metadata
    return {**event(account, person), "message": message}


def deleted_event(person: str, account: str, mid: str) -> dict[str, Any]:
    return event(person, account, message={"mid": mid, "is_deleted": True})


def delivery_json(object_name: str, account: str, *events: dict[str, Any]) -> dict[str, Any]:
    now = int(time.time() * 1000)
    return {
        "object": object_name,
        "entry": [{"id": account, "time": now, "messaging": list(events)}],
    }
