"""Telegram's conversation ids: the person's user id in a private chat, ``<chat>:<user>``
in a group (one batch per person), ``biz:<connection id>:<chat>`` for a customer's chat
with a Telegram Business account the bot is connected to. No channel prefix: Telegram
was there first, and its keys stay as they were. Written by :func:`conversation_id` and
:func:`business_conversation_id`, read by :func:`decode` only."""

from __future__ import annotations

from dataclasses import dataclass

from channels.adapter import NoRecipient
from shared.proactive import Addressee

BUSINESS_PREFIX = "biz:"


@dataclass(frozen=True, slots=True)
class TelegramChat:
    """Where a conversation's answers go."""

    chat_id: int
    business_connection_id: str | None
    """The Telegram Business connection the chat is answered through; None: the bot's own."""
    private: bool
    """The bot's own private chat with the person (not a group, not a business chat)."""


def conversation_id(chat_id: int, chat_type: str, user_id: int) -> str:
    if chat_type == "private":
        return str(user_id)
    return f"{chat_id}:{user_id}"


def business_conversation_id(connection_id: str, chat_id: int) -> str:
    return f"{BUSINESS_PREFIX}{connection_id}:{chat_id}"


def decode(conversation: str) -> TelegramChat:
    """The chat of any Telegram conversation id."""
    if conversation.startswith(BUSINESS_PREFIX):
        connection_id, _, chat = conversation.removeprefix(BUSINESS_PREFIX).rpartition(":")
        return TelegramChat(int(chat), connection_id, private=False)
    chat, _, user = conversation.partition(":")
    return TelegramChat(int(chat), None, private=not user)


def proactive_conversation(request: Addressee) -> str:
    """A proactive request's chat_id (and user_id in a group) as its conversation."""
    if request.chat_id is None:
        raise NoRecipient("a Telegram message needs chat_id (or name another channel)")
    private = request.user_id is None or request.user_id == request.chat_id
    if private and request.chat_id < 0:
        raise NoRecipient("a group chat (negative chat_id) needs user_id")
    user_id = request.chat_id if request.user_id is None else request.user_id
    return conversation_id(request.chat_id, "private" if private else "group", user_id)
