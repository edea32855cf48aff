"""Sending answers to Telegram: splitting long text and a Bot for the configured server."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ChatAction
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramNetworkError
from aiogram.types import ReplyParameters

from shared import metrics
from shared.models import BatchResponse, OutgoingMessage
from shared.settings import WorkerProcessSettings

log = logging.getLogger("batchbot.worker")

TEXT_LIMIT = 4096
"""Telegram refuses a text message longer than this many characters."""


def make_bot(settings: WorkerProcessSettings) -> Bot:
    api = TelegramAPIServer.from_base(str(settings.telegram_api_url))
    session = AiohttpSession(api=api, timeout=settings.telegram_timeout_seconds)
    return Bot(settings.bot_token.get_secret_value(), session=session)


_BOUNDARIES = ("\n\n", "\n", ". ", "! ", "? ", "; ", ", ", " ")
"""Where a long text may be cut, best first: paragraph, line, sentence, clause, word."""


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Cut text into pieces Telegram accepts, at the best boundary in each piece's second
    half (so no piece is needlessly short), else hard at the limit."""
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = limit
        for boundary in _BOUNDARIES:
            found = window.rfind(boundary)
            if found >= limit // 2:
                cut = found + len(boundary.rstrip())  # a sentence keeps its full stop
                break
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return [part for part in parts if part]


CAPTION_LIMIT = 1024
"""Telegram refuses a photo caption longer than this many characters."""


@dataclass(frozen=True, slots=True)
class ReplyPart:
    text: str
    parse_mode: str | None
    photo: str | None = None
    reply_to: int | None = None


def _parts_of(message: OutgoingMessage) -> list[ReplyPart]:
    text = message.text or ""
    if message.photo is None:
        pieces = [ReplyPart(piece, message.parse_mode) for piece in split_text(text)]
    else:
        caption = split_text(text, CAPTION_LIMIT)[:1]
        rest = text[len(caption[0]) :].strip() if caption else ""
        pieces = [ReplyPart(caption[0] if caption else "", message.parse_mode, message.photo)]
        pieces += [ReplyPart(piece, message.parse_mode) for piece in split_text(rest)]
    if message.reply_to_message_id is not None and pieces:
        pieces[0] = dataclasses.replace(pieces[0], reply_to=message.reply_to_message_id)
    return pieces


def reply_parts(answer: BatchResponse) -> list[ReplyPart]:
    """The exact sequence of Telegram messages for an answer.

    Deterministic for a given answer, so the count of parts sent, stored in Redis,
    tells a re-run exactly where to continue.
    """
    return [part for message in answer.messages for part in _parts_of(message)]


async def send_part(bot: Bot, chat_id: int, part: ReplyPart, reply_to: int | None = None) -> None:
    """Send with the backend's formatting; if Telegram rejects the markup, send it plain.

    A backend's Markdown is easy to get wrong (an unclosed ``*``), and a split at 4,096
    characters can cut an entity in two; the words still reach the person.
    """
    replying = (
        ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
        if reply_to is not None
        else None
    )
    if part.photo is not None:
        await _send_photo(bot, chat_id, part, replying)
        return
    try:
        await bot.send_message(
            chat_id, part.text, parse_mode=part.parse_mode, reply_parameters=replying
        )
    except TelegramBadRequest as error:
        if part.parse_mode is None or "can't parse entities" not in error.message.lower():
            raise
        metrics.TELEGRAM_ERRORS.labels("markup").inc()
        log.warning("chat %s: Telegram refused the %s markup; sent plain", chat_id, part.parse_mode)
        await bot.send_message(chat_id, part.text, parse_mode=None, reply_parameters=replying)


def pacing_seconds(settings: WorkerProcessSettings, part: ReplyPart) -> float:
    """How long 'typing…' shows before a reply message after the first: as if written."""
    per_character = settings.reply_pacing_seconds_per_character * len(part.text)
    return min(settings.reply_pacing_max_seconds, per_character)


@contextlib.asynccontextmanager
async def typing_while(bot: Bot, chat_id: int, every_seconds: float) -> AsyncIterator[None]:
    """Keep 'typing…' showing (Telegram shows it for 5 s) until the block ends."""

    async def refresh() -> None:
        while True:
            await show_typing(bot, chat_id)
            await asyncio.sleep(every_seconds)

    refresher = asyncio.create_task(refresh())
    try:
        yield
    finally:
        refresher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await refresher


async def _send_photo(
    bot: Bot, chat_id: int, part: ReplyPart, replying: ReplyParameters | None
) -> None:
    assert part.photo is not None
    caption = part.text or None
    try:
        await bot.send_photo(
            chat_id, part.photo, caption=caption, parse_mode=part.parse_mode,
            reply_parameters=replying,
        )  # fmt: skip
    except TelegramBadRequest as error:
        if part.parse_mode is None or "can't parse entities" not in error.message.lower():
            raise
        metrics.TELEGRAM_ERRORS.labels("markup").inc()
        await bot.send_photo(
            chat_id, part.photo, caption=caption, parse_mode=None, reply_parameters=replying
        )


async def unsplittable(step: Callable[[], Awaitable[None]]) -> None:
    """Run a send-and-record step to its end even if the job is cancelled meanwhile.

    SIGTERM and job timeouts cancel the job; landing between a delivered message and
    its record would make the re-run send that message again.
    """
    running = asyncio.ensure_future(step())
    try:
        await asyncio.shield(running)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await running
        raise


async def show_typing(bot: Bot, chat_id: int) -> None:
    """Best effort: a failed typing indicator must never hold up the answer."""
    try:
        await bot.send_chat_action(chat_id, ChatAction.TYPING)
    except (TelegramAPIError, TelegramNetworkError) as error:
        log.debug("typing indicator for chat %s failed: %s", chat_id, error)
