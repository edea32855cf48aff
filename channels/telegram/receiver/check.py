"""Before serving Telegram: is BOT_TOKEN accepted, and is TELEGRAM_API_URL a Bot API server?

Without this check a wrong token or address ends the bot in a long aiogram traceback at
its first call. Here each is one line naming the setting (a :class:`ConfigError`, exit
code 1). An address that does not answer may be a network blip at boot, so it is asked
again for ``TELEGRAM_STARTUP_WAIT_SECONDS`` first, with one log line, as Redis is waited
for. No message shows the token: aiogram's errors can carry the request URL, which holds
it, so only the error's kind and the base address are named.
"""

from __future__ import annotations

import asyncio
import logging
import time

from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import User

from channels.telegram.settings import TelegramSettings
from shared.settings import ConfigError

log = logging.getLogger("batchbot.bot")

RETRY_SECONDS = 2.0


async def checked_bot_identity(bot: Bot, settings: TelegramSettings) -> User:
    """The bot's own account (getMe), or ConfigError naming the setting that is wrong."""
    url = str(settings.telegram_api_url).rstrip("/")
    deadline = time.monotonic() + settings.telegram_startup_wait_seconds
    waiting_said = False
    while True:
        try:
            return await bot.me()
        except TelegramUnauthorizedError:
            raise ConfigError(
                "batchbot cannot start: BOT_TOKEN was refused by the Bot API at "
                f"{url} (401 Unauthorized); copy the token again from @BotFather "
                "(/mybots, API Token), or /revoke it there and use the new one"
            ) from None
        except (TelegramNotFound, ClientDecodeError):
            raise ConfigError(
                f"batchbot cannot start: TELEGRAM_API_URL {url} did not answer getMe as a Bot "
                "API server does (leave it unset for Telegram's, or give a self-hosted "
                "server's base address, without /bot<token>)"
            ) from None
        except (TelegramNetworkError, TelegramServerError) as error:
            problem = type(error).__name__
            if time.monotonic() >= deadline:
                raise ConfigError(
                    f"batchbot cannot start: TELEGRAM_API_URL {url} cannot be reached "
                    f"({problem}); check the address and this machine's network "
                    f"(waited {settings.telegram_startup_wait_seconds:g}s, "
                    "TELEGRAM_STARTUP_WAIT_SECONDS)"
                ) from None
            if not waiting_said:
                log.warning(
                    "TELEGRAM_API_URL %s cannot be reached (%s); trying again for up to %gs",
                    url,
                    problem,
                    settings.telegram_startup_wait_seconds,
                )
                waiting_said = True
            await asyncio.sleep(RETRY_SECONDS)
        except TelegramAPIError as error:
            raise ConfigError(
                f"batchbot cannot start: the Bot API at {url} refused getMe "
                f"({type(error).__name__}: {error.message}); check BOT_TOKEN and "
                "TELEGRAM_API_URL"
            ) from None
