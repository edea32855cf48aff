"""Telegram's conversation ids: the person's user id in a private chat, ``<chat>:<user>``
in a group (one batch per person), ``biz:<connection id>:<chat>`` for a customer's chat
with a Telegram Business account the bot is connected to. No channel prefix: Telegram
was there first, and its keys stay as they were."""

from __future__ import annotations

from channels.entry import NoRecipient
from shared.proactive import Addressee


def conversation_id(chat_id: int, chat_type: str, user_id: int) -> str:
    if chat_type == "private":
        return str(user_id)
    return f"{chat_id}:{user_id}"


BUSINESS_PREFIX = "biz:"


def business_conversation_id(connection_id: str, chat_id: int) -> str:
    return f"{BUSINESS_PREFIX}{connection_id}:{chat_id}"


def business_connection_of(conversation: str) -> str | None:
    """The Telegram Business connection a conversation goes through; None for the bot's own."""
    if not conversation.startswith(BUSINESS_PREFIX):
        return None
    return conversation.removeprefix(BUSINESS_PREFIX).rpartition(":")[0]


def chat_of(conversation: str) -> int:
    """The chat a conversation is in: the user's private chat, the group before ':', or
    a business customer's chat after the connection id."""
    if conversation.startswith(BUSINESS_PREFIX):
        return int(conversation.rpartition(":")[2])
    return int(conversation.split(":", 1)[0])


def proactive_conversation(request: Addressee) -> str:
    """A proactive request's chat_id (and user_id in a group) as its conversation."""
    if request.chat_id is None:
        raise NoRecipient("a Telegram message needs chat_id (or name another channel)")
    private = request.user_id is None or request.user_id == request.chat_id
    if private and request.chat_id < 0:
        raise NoRecipient("a group chat (negative chat_id) needs user_id")
    user_id = request.chat_id if request.user_id is None else request.user_id
    return conversation_id(request.chat_id, "private" if private else "group", user_id)
