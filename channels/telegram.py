"""Telegram's Bot API: a client for the configured server, and the worker's sender.

Both processes make their :class:`aiogram.Bot` with :func:`make_bot` (the bot answers
commands with it; the worker sends replies). :class:`TelegramSender` is the Telegram
side of delivery: one markup fallback for text and photos, the typing indicator, and
aiogram's errors mapped onto :mod:`channels.outcomes`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ChatAction
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import ReplyParameters

from channels.outcomes import RecipientGone, Refused, RetryAfter, Unavailable
from shared import metrics
from shared.settings import CommonSettings

log = logging.getLogger("batchbot.telegram")


def make_bot(settings: CommonSettings, timeout_seconds: float | None = None) -> Bot:
    """A Bot for TELEGRAM_API_URL (Telegram's, a self-hosted server, or the sandbox)."""
    api = TelegramAPIServer.from_base(str(settings.telegram_api_url))
    session = (
        AiohttpSession(api=api)
        if timeout_seconds is None
        else AiohttpSession(api=api, timeout=timeout_seconds)
    )
    return Bot(settings.bot_token.get_secret_value(), session=session)


@contextlib.contextmanager
def _outcomes() -> Iterator[None]:
    """aiogram's errors as delivery outcomes, each counted by kind."""
    try:
        yield
    except TelegramRetryAfter as error:
        metrics.TELEGRAM_ERRORS.labels("retry_after").inc()
        raise RetryAfter(f"Telegram flood limit: {error}", error.retry_after) from error
    except (TelegramNetworkError, TelegramServerError) as error:
        kind = "network" if isinstance(error, TelegramNetworkError) else "server"
        metrics.TELEGRAM_ERRORS.labels(kind).inc()
        raise Unavailable(f"Telegram unavailable: {error}") from error
    except TelegramForbiddenError as error:
        metrics.TELEGRAM_ERRORS.labels("forbidden").inc()
        raise RecipientGone(f"the chat blocked the bot: {error}") from error
    except TelegramBadRequest as error:
        metrics.TELEGRAM_ERRORS.labels("bad_request").inc()
        raise Refused(f"Telegram refused it: {error}") from error


class TelegramSender:
    """Sends one reply part at a time to a Telegram chat."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send_text(
        self, chat_id: int, text: str, parse_mode: str | None, reply_to: int | None
    ) -> None:
        async def send(mode: str | None) -> object:
            return await self.bot.send_message(
                chat_id, text, parse_mode=mode, reply_parameters=_replying(reply_to)
            )

        with _outcomes():
            await _plain_if_markup_refused(chat_id, parse_mode, send)

    async def send_photo(
        self,
        chat_id: int,
        photo: str,
        caption: str | None,
        parse_mode: str | None,
        reply_to: int | None,
    ) -> None:
        async def send(mode: str | None) -> object:
            return await self.bot.send_photo(
                chat_id,
                photo,
                caption=caption,
                parse_mode=mode,
                reply_parameters=_replying(reply_to),
            )

        with _outcomes():
            await _plain_if_markup_refused(chat_id, parse_mode, send)

    async def show_typing(self, chat_id: int) -> None:
        """Best effort: a failed typing indicator must never hold up the answer."""
        try:
            await self.bot.send_chat_action(chat_id, ChatAction.TYPING)
        except (TelegramAPIError, TelegramNetworkError) as error:
            log.debug("typing indicator for chat %s failed: %s", chat_id, error)

    async def aclose(self) -> None:
        await self.bot.session.close()


def _replying(reply_to: int | None) -> ReplyParameters | None:
    if reply_to is None:
        return None
    return ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)


async def _plain_if_markup_refused(
    chat_id: int, parse_mode: str | None, send: Callable[[str | None], Awaitable[object]]
) -> None:
    """Send with the backend's formatting; if Telegram rejects the markup, send it plain.

    A backend's Markdown is easy to get wrong (an unclosed ``*``), and a split at 4,096
    characters can cut an entity in two; the words still reach the person.
    """
    try:
        await send(parse_mode)
    except TelegramBadRequest as error:
        if parse_mode is None or "can't parse entities" not in error.message.lower():
            raise
        metrics.TELEGRAM_ERRORS.labels("markup").inc()
        log.warning("chat %s: Telegram refused the %s markup; sent plain", chat_id, parse_mode)
        await send(None)
