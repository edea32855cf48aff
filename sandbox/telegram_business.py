"""Telegram Business updates as the Bot API sends them to a connected business bot, for
the stand-in and the tests: ``business_connection``, ``business_message`` (a customer's,
the owner's, or the bot's own echo), ``edited_business_message`` and
``deleted_business_messages``."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sandbox.telegram_api import TelegramStandIn
from sandbox.telegram_wire import BOT_USER, Person, message_json


@dataclass(frozen=True, slots=True)
class Business:
    """A Telegram Business account with the sandbox bot connected to it."""

    connection_id: str
    owner: Person

    def connection(self, *, enabled: bool = True, can_reply: bool = True) -> dict[str, Any]:
        return {
            "id": self.connection_id,
            "user": self.owner.as_telegram(),
            "user_chat_id": self.owner.id,
            "date": int(time.time()),
            "rights": {"can_reply": can_reply, "can_read_messages": True},
            "is_enabled": enabled,
        }


async def connect(telegram: TelegramStandIn, business: Business, **state: bool) -> None:
    """Deliver a ``business_connection`` update (``enabled``, ``can_reply``)."""
    await telegram.deliver(telegram.update_of("business_connection", business.connection(**state)))


def business_message(
    telegram: TelegramStandIn,
    business: Business,
    customer: Person,
    text: str,
    *,
    by: Person | None = None,
    by_the_bot: bool = False,
) -> dict[str, Any]:
    """A ``business_message`` update in the customer's private chat with the owner:
    written by the customer, by the owner (``by``), or sent by the bot itself."""
    author = by or customer
    message = message_json(author, telegram.next_message_id(customer.id), text, chat_id=customer.id)
    message["chat"] = {"id": customer.id, "type": "private", "first_name": customer.first_name}
    message["business_connection_id"] = business.connection_id
    if by_the_bot:
        message["from"] = business.owner.as_telegram()
        message["sender_business_bot"] = BOT_USER
    return telegram.update_of("business_message", message)


def edited(telegram: TelegramStandIn, update: dict[str, Any], text: str) -> dict[str, Any]:
    message = {**update["business_message"], "text": text, "edit_date": int(time.time())}
    return telegram.update_of("edited_business_message", message)


def deleted(
    telegram: TelegramStandIn, business: Business, customer: Person, *message_ids: int
) -> dict[str, Any]:
    payload = {
        "business_connection_id": business.connection_id,
        "chat": {"id": customer.id, "type": "private", "first_name": customer.first_name},
        "message_ids": list(message_ids),
    }
    return telegram.update_of("deleted_business_messages", payload)
