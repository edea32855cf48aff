"""Commands the bot answers itself, before anything is batched.

``/start`` greets (START_GREETING) and ``/clear`` drops what the person sent since
the last answer (CLEAR_REPLY). Any other command is an ordinary message and goes to
the backend with the rest of the burst: the backend may give commands meaning.
"""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.filters import Command, CommandStart
from aiogram.types import Message

from bot.settings import BotSettings
from channels.telegram import author_of
from shared.store import BatchStore

log = logging.getLogger("batchbot.bot")


def commands_router(settings: BotSettings) -> Router:
    """A fresh router; include it before the batching router so commands stop here."""
    router = Router(name="commands")
    # One cheap check per message; the command filters run only on text starting with /.
    router.message.filter(F.text.startswith("/"))
    if settings.start_greeting:
        router.message.register(start, CommandStart())
    router.message.register(clear, Command("clear"), F.from_user)
    return router


async def start(message: Message, settings: BotSettings) -> None:
    await message.answer(settings.start_greeting)


async def clear(message: Message, store: BatchStore, settings: BotSettings) -> None:
    sender = author_of(message)
    assert sender is not None  # the filter admits messages with a sender only
    conversation = sender.conversation
    dropped, running = await store.clear(conversation)
    log.info(
        "/clear from %s: %d pending message(s) dropped%s",
        conversation,
        dropped,
        "; a batch already at the backend will still be answered" if running else "",
        extra={"conversation": conversation},
    )
    await message.answer(settings.clear_reply)
