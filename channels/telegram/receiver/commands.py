"""Commands the bot answers itself, before anything is batched.

``/start`` greets (START_GREETING) and ``/clear`` drops what the person sent since
the last answer (CLEAR_REPLY). Any other command is an ordinary message and goes to
the backend with the rest of the burst: the backend may give commands meaning.
"""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.filters import Command, CommandStart, Filter
from aiogram.types import Message

from channels.base import Intake
from channels.telegram.intake import author_of
from channels.telegram.settings import TelegramSettings

log = logging.getLogger("batchbot.bot")


class _LooksLikeACommand(Filter):
    """Text starting with /. A coroutine on purpose: aiogram runs a plain function or a
    magic filter (``F.text...``) in a worker thread, a thread hop for every message (it
    made Telegram's intake cost about twice a WhatsApp delivery)."""

    async def __call__(self, message: Message) -> bool:
        return message.text is not None and message.text.startswith("/")


class _FromAPerson(Filter):
    """A message some person sent (a channel's post has no sender to clear for)."""

    async def __call__(self, message: Message) -> bool:
        return message.from_user is not None


def add_commands(router: Router, settings: TelegramSettings) -> None:
    """Register the commands on ``router`` (the dispatcher itself); add them before the
    batching handler, so a command stops here. Each starts with the cheap check for a
    leading /, so the command filters (which parse the text) run only on such messages."""
    looks_like_a_command = _LooksLikeACommand()
    if settings.start_greeting:
        router.message.register(start, looks_like_a_command, CommandStart())
    router.message.register(clear, looks_like_a_command, Command("clear"), _FromAPerson())


async def start(message: Message, settings: TelegramSettings) -> None:
    await message.answer(settings.start_greeting)


async def clear(message: Message, intake: Intake, settings: TelegramSettings) -> None:
    sender = author_of(message)
    assert sender is not None  # the filter admits messages with a sender only
    conversation = sender.conversation
    dropped, running = await intake.store.clear(conversation)
    log.info(
        "/clear from %s: %d pending message(s) dropped%s",
        conversation,
        dropped,
        "; a batch already at the backend will still be answered" if running else "",
        extra={"conversation": conversation},
    )
    await message.answer(settings.clear_reply)
