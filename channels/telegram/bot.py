"""A client for the configured Bot API server, the same in both processes (the bot
answers commands with it; the workers send replies)."""

from __future__ import annotations

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from channels.telegram.settings import TelegramSettings


def make_bot(settings: TelegramSettings, timeout_seconds: float | None = None) -> Bot:
    """A Bot for TELEGRAM_API_URL (Telegram's, a self-hosted server, or the sandbox)."""
    assert settings.bot_token is not None, "make_bot needs BOT_TOKEN"
    api = TelegramAPIServer.from_base(str(settings.telegram_api_url))
    session = (
        AiohttpSession(api=api)
        if timeout_seconds is None
        else AiohttpSession(api=api, timeout=timeout_seconds)
    )
    return Bot(settings.bot_token.get_secret_value(), session=session)
