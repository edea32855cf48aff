"""Sending answers to Telegram: splitting long text and a Bot for the configured server."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ChatAction
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError

from shared.models import BatchResponse
from shared.settings import WorkerProcessSettings

log = logging.getLogger("batchbot.worker")

TEXT_LIMIT = 4096
"""Telegram refuses a text message longer than this many characters."""


def make_bot(settings: WorkerProcessSettings) -> Bot:
    api = TelegramAPIServer.from_base(str(settings.telegram_api_url))
    session = AiohttpSession(api=api, timeout=settings.telegram_timeout_seconds)
    return Bot(settings.bot_token.get_secret_value(), session=session)


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Cut text into pieces Telegram accepts, preferring line breaks, then spaces."""
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = window.rfind("\n")
        if cut < limit // 2:
            cut = window.rfind(" ")
        if cut < limit // 2:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return [part for part in parts if part]


def reply_parts(answer: BatchResponse) -> list[str]:
    """The exact sequence of Telegram messages for an answer.

    Deterministic for a given answer, so the count of parts sent, stored in Redis,
    tells a re-run exactly where to continue.
    """
    return [part for message in answer.messages for part in split_text(message.text)]


async def show_typing(bot: Bot, chat_id: int) -> None:
    """Best effort: a failed typing indicator must never hold up the answer."""
    try:
        await bot.send_chat_action(chat_id, ChatAction.TYPING)
    except (TelegramAPIError, TelegramNetworkError) as error:
        log.debug("typing indicator for chat %s failed: %s", chat_id, error)
