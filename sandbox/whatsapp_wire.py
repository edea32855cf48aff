"""The JSON shapes of WhatsApp Cloud API webhook deliveries, built for the sandbox.

A delivery is ``{"object": "whatsapp_business_account", "entry": [{"changes":
[{"field": "messages", "value": {...}}]}]}`` where the value holds the business
number's metadata, the senders' profiles and their messages (or ``statuses``).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any

SANDBOX_PHONE_NUMBER_ID = "106540352242922"
SANDBOX_DISPLAY_NUMBER = "15550783881"
WABA_ID = "102290129340398"
_wamids = itertools.count(1)


@dataclass(frozen=True, slots=True)
class WaPerson:
    """A simulated WhatsApp user: their wa_id (phone number) and profile name."""

    wa_id: str
    name: str


def next_wamid() -> str:
    return f"wamid.SANDBOX{next(_wamids):012d}"


def message_json(
    person: WaPerson, kind: str, content: Any, *, timestamp: int | None = None, **extra: Any
) -> dict[str, Any]:
    """One incoming message of ``kind`` (text, image, reaction...) with its content."""
    return {
        "from": person.wa_id,
        "id": next_wamid(),
        "timestamp": str(int(time.time()) if timestamp is None else timestamp),
        "type": kind,
        kind: content,
        **extra,
    }


def text_json(person: WaPerson, text: str, **extra: Any) -> dict[str, Any]:
    return message_json(person, "text", {"body": text}, **extra)


def delivery_json(
    *messages: tuple[WaPerson, dict[str, Any]],
    statuses: list[dict[str, Any]] | None = None,
    phone_number_id: str = SANDBOX_PHONE_NUMBER_ID,
) -> dict[str, Any]:
    """One delivery (one entry, one change) carrying these people's messages."""
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": SANDBOX_DISPLAY_NUMBER,
            "phone_number_id": phone_number_id,
        },
    }
    people = {person.wa_id: person for person, _ in messages}
    if messages:
        value["contacts"] = [
            {"profile": {"name": p.name}, "wa_id": p.wa_id} for p in people.values()
        ]
        value["messages"] = [message for _, message in messages]
    if statuses is not None:
        value["statuses"] = statuses
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": WABA_ID, "changes": [{"field": "messages", "value": value}]}],
    }


def business_app_echo(
    person: WaPerson, text: str, phone_number_id: str = SANDBOX_PHONE_NUMBER_ID
) -> dict[str, Any]:
    """What the business wrote ``person`` from the WhatsApp Business app on the same
    number (coexistence): an ``smb_message_echoes`` delivery, ``to`` as the app writes it."""
    echo = {
        "from": SANDBOX_DISPLAY_NUMBER,
        "to": f"+{person.wa_id}",
        "id": next_wamid(),
        "timestamp": str(int(time.time())),
        "type": "text",
        "text": {"body": text},
    }
    value = {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": SANDBOX_DISPLAY_NUMBER,
            "phone_number_id": phone_number_id,
        },
        "message_echoes": [echo],
    }
    change = {"field": "smb_message_echoes", "value": value}
    return {"object": "whatsapp_business_account", "entry": [{"id": WABA_ID, "changes": [change]}]}


def status_json(wamid: str, recipient: WaPerson, status: str = "delivered") -> dict[str, Any]:
    return {
        "id": wamid,
        "status": status,
        "timestamp": str(int(time.time())),
        "recipient_id": recipient.wa_id,
    }


def graph_error(code: int, message: str, details: str = "") -> dict[str, Any]:
    """A Graph API error body, as Meta answers a refused call."""
    return {
        "error": {
            "message": message,
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": details or message},
            "fbtrace_id": "SandboxTrace",
        }
    }
