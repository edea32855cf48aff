"""Telegram's conversation ids: the person's user id in a private chat, ``<chat>:<user>``
in a group (one batch per person). No prefix: Telegram was there first, and its keys
stay as they were."""

from __future__ import annotations

from channels.entry import NoRecipient
from shared.proactive import ProactiveRequest


def conversation_id(chat_id: int, chat_type: str, user_id: int) -> str:
    if chat_type == "private":
        return str(user_id)
    return f"{chat_id}:{user_id}"


def chat_of(conversation: str) -> int:
    """The chat a conversation is in: the user's private chat, or the group before ':'."""
    return int(conversation.split(":", 1)[0])


def proactive_conversation(request: ProactiveRequest) -> str:
    """A proactive request's chat_id (and user_id in a group) as its conversation."""
    if request.chat_id is None:
        raise NoRecipient("a Telegram message needs chat_id (or name another channel)")
    private = request.user_id is None or request.user_id == request.chat_id
    if private and request.chat_id < 0:
        raise NoRecipient("a group chat (negative chat_id) needs user_id")
    user_id = request.chat_id if request.user_id is None else request.user_id
    return conversation_id(request.chat_id, "private" if private else "group", user_id)
