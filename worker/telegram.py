"""Sending answers to Telegram: splitting long text and a Bot for the configured server."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ChatAction
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramNetworkError

from shared import metrics
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


@dataclass(frozen=True, slots=True)
class ReplyPart:
    text: str
    parse_mode: str | None


def reply_parts(answer: BatchResponse) -> list[ReplyPart]:
    """The exact sequence of Telegram messages for an answer.

    Deterministic for a given answer, so the count of parts sent, stored in Redis,
    tells a re-run exactly where to continue.
    """
    return [
        ReplyPart(part, message.parse_mode)
        for message in answer.messages
        for part in split_text(message.text)
    ]


async def send_part(bot: Bot, chat_id: int, part: ReplyPart) -> None:
    """Send with the backend's formatting; if Telegram rejects the markup, send it plain.

    A backend's Markdown is easy to get wrong (an unclosed ``*``), and a split at 4,096
    characters can cut an entity in two; the words still reach the person.
    """
    try:
        await bot.send_message(chat_id, part.text, parse_mode=part.parse_mode)
    except TelegramBadRequest as error:
        if part.parse_mode is None or "can't parse entities" not in error.message.lower():
            raise
        metrics.TELEGRAM_ERRORS.labels("markup").inc()
        log.warning("chat %s: Telegram refused the %s markup; sent plain", chat_id, part.parse_mode)
        await bot.send_message(chat_id, part.text, parse_mode=None)


async def show_typing(bot: Bot, chat_id: int) -> None:
    """Best effort: a failed typing indicator must never hold up the answer."""
    try:
        await bot.send_chat_action(chat_id, ChatAction.TYPING)
    except (TelegramAPIError, TelegramNetworkError) as error:
        log.debug("typing indicator for chat %s failed: %s", chat_id, error)
