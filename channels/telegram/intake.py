"""A Telegram message as the contract has it: its author (and so its conversation), and
its many shapes reduced to :class:`IncomingMessage`. The bot's dispatcher
(:mod:`.receiver.handlers`) calls these for every update."""

from __future__ import annotations

from typing import Any, Protocol

from aiogram.types import Message

from channels.base import Author
from channels.telegram.conversations import conversation_id
from shared.models import Chat, Contact, IncomingMessage, Location, MessageKind, User


class BotIdentity(Protocol):
    """Who the bot is (aiogram's ``User`` from getMe has both)."""

    @property
    def id(self) -> int: ...

    @property
    def username(self) -> str | None: ...


def _content(message: Message) -> dict[str, Any]:
    """Kind-specific fields; the first matching shape wins, as Telegram sends one per message."""
    if message.text is not None:
        return {"kind": MessageKind.TEXT, "text": message.text}
    if message.photo:
        largest = max(message.photo, key=lambda size: size.width * size.height)
        return {
            "kind": MessageKind.PHOTO,
            "file_id": largest.file_id,
            "file_unique_id": largest.file_unique_id,
        }
    files: list[tuple[MessageKind, Any]] = [
        (MessageKind.VIDEO, message.video),
        (MessageKind.VOICE, message.voice),
        (MessageKind.AUDIO, message.audio),
        (MessageKind.DOCUMENT, message.document),
    ]
    for kind, media in files:
        if media is not None:
            return {
                "kind": kind,
                "file_id": media.file_id,
                "file_unique_id": media.file_unique_id,
                "mime_type": getattr(media, "mime_type", None),
                "file_name": getattr(media, "file_name", None),
                "duration": getattr(media, "duration", None),
            }
    if message.sticker is not None:
        sticker = message.sticker
        return {
            "kind": MessageKind.STICKER,
            "file_id": sticker.file_id,
            "file_unique_id": sticker.file_unique_id,
            "emoji": sticker.emoji,
        }
    if message.location is not None:
        place = message.location
        return {
            "kind": MessageKind.LOCATION,
            "location": Location(latitude=place.latitude, longitude=place.longitude),
        }
    if message.contact is not None:
        card = message.contact
        return {
            "kind": MessageKind.CONTACT,
            "contact": Contact(
                phone_number=card.phone_number,
                first_name=card.first_name,
                last_name=card.last_name,
                user_id=card.user_id,
            ),
        }
    content_type = message.content_type  # aiogram's ContentType enum; str() would add its name
    return {"kind": MessageKind.OTHER, "content_type": getattr(content_type, "value", content_type)}


def addresses(message: Message, bot: BotIdentity) -> bool:
    """Does the message mention the bot (@username or a text mention) or reply to it?"""
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == bot.id:
        return True
    text = message.text or message.caption or ""
    handle = f"@{bot.username}".lower() if bot.username else None
    for entity in message.entities or message.caption_entities or []:
        if entity.type == "text_mention" and entity.user is not None and entity.user.id == bot.id:
            return True
        if entity.type == "mention" and entity.extract_from(text).lower() == handle:
            return True
    return False


def normalise(message: Message, bot: BotIdentity | None = None) -> IncomingMessage:
    """Every message becomes something the backend can read; unknown kinds become 'other'.

    With ``bot`` (in group chats), ``addresses_bot`` says whether it was meant for the bot.
    """
    replied = message.reply_to_message
    return IncomingMessage(
        message_id=message.message_id,
        date=message.date,
        caption=message.caption,
        media_group_id=message.media_group_id,
        reply_to_message_id=replied.message_id if replied is not None else None,
        forwarded=True if message.forward_origin is not None else None,
        addresses_bot=addresses(message, bot) if bot is not None else None,
        **_content(message),
    )


def author_of(message: Message) -> Author | None:
    """None for posts that no person sent (channels): there is nobody to answer."""
    person = message.from_user
    if person is None:
        return None
    chat = message.chat
    return Author(
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
