"""Who sent a message, and so which conversation (and batch) it belongs to."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram.types import Message

from shared.keys import conversation_id
from shared.models import Chat, User


@dataclass(frozen=True, slots=True)
class Sender:
    """The person who wrote a message, the chat it was written in, and their conversation."""

    chat: Chat
    user: User
    conversation: str


def sender_of(message: Message) -> Sender | None:
    """None for posts that no person sent (channels): there is nobody to answer."""
    person = message.from_user
    if person is None:
        return None
    chat = message.chat
    return Sender(
        chat=Chat(id=chat.id, type=chat.type, title=chat.title, username=chat.username),
        user=User(
            id=person.id,
            first_name=person.first_name,
            last_name=person.last_name,
            username=person.username,
            language_code=person.language_code,
        ),
        conversation=conversation_id(chat.id, chat.type, person.id),
    )
