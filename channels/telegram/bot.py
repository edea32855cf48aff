"""A client for the configured Bot API server, the same in both processes (the bot
answers commands with it; the workers send replies)."""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType

from channels.telegram.settings import TelegramSettings

_RESPONSE_MODELS: dict[Any, type[Response[Any]]] = {}
"""Every ``Response[...]`` model this process has used, held for its lifetime."""


class KeepResponseModels(BaseRequestMiddleware):
    """Keeps each ``Response[<returning type>]`` model alive once a request has used it.

    aiogram builds ``Response[method.__returning__]`` for every answer it parses, and
    pydantic caches parametrized models only weakly: whenever the garbage collector ran in
    between, the model was built again from its schema, about 4 ms of CPU. In a worker
    that was one request in six and a sixth of the worker's CPU per batch. Holding one
    model per returning type (a few dozen at most) makes every later request a cache hit.
    """

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        returning = method.__returning__
        if returning not in _RESPONSE_MODELS:
            _RESPONSE_MODELS[returning] = Response[returning]  # type: ignore[valid-type]
        return await make_request(bot, method)


def make_bot(settings: TelegramSettings, timeout_seconds: float | None = None) -> Bot:
    """A Bot for TELEGRAM_API_URL (Telegram's, a self-hosted server, or the sandbox)."""
    assert settings.bot_token is not None, "make_bot needs BOT_TOKEN"
    api = TelegramAPIServer.from_base(str(settings.telegram_api_url))
    session = (
        AiohttpSession(api=api)
        if timeout_seconds is None
        else AiohttpSession(api=api, timeout=timeout_seconds)
    )
    session.middleware(KeepResponseModels())
    return Bot(settings.bot_token.get_secret_value(), session=session)


_SHARED: dict[tuple[str, float], tuple[AiohttpSession, int]] = {}


def sending_bot(settings: TelegramSettings, timeout_seconds: float) -> Bot:
    """The workers' Bot: every bot of one Bot API server shares one session (its
    connections, and its TLS set-up, about 25 ms of CPU each, paid once rather than once
    per bot of a TENANTS_FILE); :func:`release_bot` when done with it."""
    assert settings.bot_token is not None, "sending_bot needs a token"
    key = (str(settings.telegram_api_url), timeout_seconds)
    session, users = _SHARED.get(key, (None, 0))
    if session is None:
        api = TelegramAPIServer.from_base(key[0])
        session = AiohttpSession(api=api, timeout=timeout_seconds)
        session.middleware(KeepResponseModels())
    _SHARED[key] = (session, users + 1)
    return Bot(settings.bot_token.get_secret_value(), session=session)


async def release_bot(bot: Bot) -> None:
    """The session closes with the last bot that shares it."""
    for key, (session, users) in list(_SHARED.items()):
        if session is bot.session:
            if users > 1:
                _SHARED[key] = (session, users - 1)
                return
            del _SHARED[key]
    await bot.session.close()
