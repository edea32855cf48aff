"""Telegram Business: the owner's private chats with customers, which a connected bot
reads and answers on the owner's behalf (Bot API ``business_connection``,
``business_message``, ``edited_business_message``, ``deleted_business_messages``).

A customer's messages are batched like any message, one conversation per (connection,
customer chat): ``biz:<connection id>:<chat id>``. The bot's own messages come back as
business messages carrying ``sender_business_bot``: never batched. The owner's come as
messages from the connection's user: the owner is answering that customer personally, so
the conversation is taken over (:mod:`shared.handoff`) for HANDOFF_SECONDS. A
connection that is disabled or may not reply stores nothing; the workers drop what was
pending for it (``TelegramAdapter.prepare``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiogram import Router
from aiogram.types import BusinessConnection, BusinessMessagesDeleted, Message

from channels.base import Author, HumanReply, Intake, Removal
from channels.telegram import connections
from channels.telegram.conversations import business_conversation_id
from channels.telegram.intake import author_of, normalise
from channels.telegram.receiver.handlers import from_a_bot
from channels.telegram.settings import TelegramSettings
from shared import metrics
from shared.models import Channel

log = logging.getLogger("batchbot.business")


def business_router() -> Router:
    """A fresh router each time: aiogram attaches a router to one dispatcher only."""
    router = Router(name="business")
    router.business_connection.register(on_connection)
    router.business_message.register(on_message)
    router.edited_business_message.register(on_edit)
    router.deleted_business_messages.register(on_deleted)
    return router


async def on_connection(business_connection: BusinessConnection, intake: Intake) -> None:
    connection = connections.connection_of(business_connection)
    await connections.save(intake.store.redis, connection)
    state = (
        "answers its customers"
        if connection.answers
        else f"answers nothing: it {connection.why_not}"
    )
    log.info(
        "Telegram Business connection %s of user %s %s",
        connection.id,
        connection.owner_id,
        state,
    )


async def on_message(message: Message, intake: Intake, settings: TelegramSettings) -> None:
    if from_a_bot(message, settings):  # business bots may be written to by bots (10.0)
        return
    author = await _customer(message, intake)
    if isinstance(author, OwnerWrote):
        said = normalise(message).words() or ""
        connection = message.business_connection_id or ""
        reply = HumanReply(connection, author.conversation, said, str(message.message_id))
        await intake.human_reply(reply)  # the assistant stays silent meanwhile
        return
    if author is not None:
        await intake.message(Channel.TELEGRAM, author, normalise(message))


async def on_edit(message: Message, intake: Intake) -> None:
    """As in the bot's own chats: an edit replaces its pending copy, else it is logged."""
    author = await _customer(message, intake)
    if not isinstance(author, Author):
        return
    replaced = await intake.store.replace_pending(author.conversation, normalise(message))
    log.info(
        "edit of business message %s of %s %s",
        message.message_id,
        author.conversation,
        "replaced its pending copy" if replaced else "came after its batch went; ignored",
        extra={"conversation": author.conversation, "message_id": message.message_id},
    )


async def on_deleted(deleted_business_messages: BusinessMessagesDeleted, intake: Intake) -> None:
    """Deleted messages leave their pending batch; one that already went is logged."""
    deleted = deleted_business_messages
    connection_id = deleted.business_connection_id
    conversation = business_conversation_id(connection_id, deleted.chat.id)
    if await connections.load(intake.store.redis, connection_id) is None:
        log.info(
            "deletion of business message(s) %s in chat %s ignored: connection %s is unknown "
            "to this bot",
            ", ".join(map(str, deleted.message_ids)),
            deleted.chat.id,
            connection_id,
        )
        return
    for message_id in deleted.message_ids:
        await intake.removal(Removal(connection_id, conversation, message_id))


async def _customer(message: Message, intake: Intake) -> Author | OwnerWrote | None:
    """The customer's side of a business chat; the owner's message; or None (logged and
    counted) for what is not to be batched."""
    where = f"business message {message.message_id} in chat {message.chat.id}"
    if message.sender_business_bot is not None:
        _left_out("own_echo", f"{where}: sent by the bot itself", logging.DEBUG)
        return None
    connection_id = message.business_connection_id or ""
    connection = await connections.load(intake.store.redis, connection_id)
    if connection is None or not connection.answers:
        why = "is unknown to this bot" if connection is None else connection.why_not
        _left_out("not_answerable", f"{where}: connection {connection_id} {why}")
        return None
    author = author_of(message)
    if author is None:
        return None
    conversation = business_conversation_id(connection_id, message.chat.id)
    if author.user.id == connection.owner_id:
        _left_out("owner", f"{where}: written by the business account itself")
        return OwnerWrote(conversation)
    return Author(chat=author.chat, user=author.user, conversation=conversation)


@dataclass(frozen=True, slots=True)
class OwnerWrote:
    """The business owner wrote in a customer's chat (:func:`_customer`)."""

    conversation: str


def _left_out(reason: str, said: str, level: int = logging.INFO) -> None:
    metrics.BUSINESS_MESSAGES_NOT_BATCHED.labels(reason).inc()
    log.log(level, "%s; not batched", said)
