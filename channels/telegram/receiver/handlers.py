"""Telegram's batching handlers: every message of a person goes into their pending batch."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.types import Message

from channels.base import Intake
from channels.telegram.intake import author_of, normalise
from shared.models import Channel

log = logging.getLogger("batchbot.bot")


def add_batching(router: Router) -> None:
    """Register the batching handlers on ``router`` (the dispatcher itself), after the
    commands: every other message of a person goes into their pending batch."""
    router.message.register(collect)
    router.edited_message.register(collect_edit)


async def collect(message: Message, bot: Bot, intake: Intake) -> None:
    sender = author_of(message)
    if sender is None:
        log.info("ignored message %s in chat %s: no sender", message.message_id, message.chat.id)
        return
    incoming = normalise(message, await bot.me() if sender.chat.type != "private" else None)
    await intake.message(Channel.TELEGRAM, sender, incoming)


async def collect_edit(message: Message, bot: Bot, intake: Intake) -> None:
    """An edit while its message still waits replaces it: the backend sees what the person
    meant. Once the batch has gone, the edit is only logged; answering again would be a
    second answer to one burst."""
    sender = author_of(message)
    if sender is None:
        return
    conversation = sender.conversation
    edited = normalise(message, await bot.me() if sender.chat.type != "private" else None)
    replaced = await intake.store.replace_pending(conversation, edited)
    log.info(
        "edit of message %s of %s %s",
        message.message_id,
        conversation,
        "replaced its pending copy" if replaced else "came after its batch went; ignored",
        extra={"conversation": conversation, "message_id": message.message_id},
    )
