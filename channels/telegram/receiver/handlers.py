"""Telegram's batching handlers: every message of a person goes into their pending batch;
Stop on a draft stops the answer being written."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.types import Message, MessageGenerationStopped

from channels.base import Intake
from channels.telegram.conversations import conversation_id
from channels.telegram.intake import author_of, normalise
from channels.telegram.settings import TelegramSettings
from shared import metrics
from shared.models import Channel

log = logging.getLogger("batchbot.bot")


def add_batching(router: Router) -> None:
    """Register the batching handlers on ``router`` (the dispatcher itself), after the
    commands: every other message of a person goes into their pending batch."""
    router.message.register(collect)
    router.edited_message.register(collect_edit)
    router.stopped_message_generation.register(stop_pressed)


async def collect(message: Message, bot: Bot, intake: Intake, settings: TelegramSettings) -> None:
    sender = author_of(message)
    if sender is None:
        log.info("ignored message %s in chat %s: no sender", message.message_id, message.chat.id)
        return
    if from_a_bot(message, settings):
        return
    incoming = normalise(message, await bot.me() if sender.chat.type != "private" else None)
    await intake.message(Channel.TELEGRAM, sender, incoming)


def from_a_bot(message: Message, settings: TelegramSettings) -> bool:
    """Another bot wrote (not batched unless ANSWER_BOTS): two assistants could otherwise
    answer each other forever. Counted and logged at DEBUG."""
    if message.from_user is None or not message.from_user.is_bot or settings.answer_bots:
        return False
    metrics.MESSAGES_FROM_BOTS.labels(Channel.TELEGRAM.value).inc()
    log.debug("message %s in chat %s from bot %s; not batched (ANSWER_BOTS is off)",
              message.message_id, message.chat.id, message.from_user.id)  # fmt: skip
    return True


async def stop_pressed(
    stopped_message_generation: MessageGenerationStopped, intake: Intake
) -> None:
    """Stop on a draft (Bot API 10.3; drafts exist in private chats only): the batch being
    answered stops, and its backend call with it."""
    chat = stopped_message_generation.chat
    conversation = conversation_id(chat.id, chat.type, chat.id)
    await intake.stop(conversation, stopped_message_generation.draft_id)


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
