"""Telegram's settings: on when BOT_TOKEN is set."""

from __future__ import annotations

import re

from pydantic import Field, HttpUrl, SecretStr, field_validator
from pydantic_settings import BaseSettings

TELEGRAM_DEFAULT_API_URL = "https://api.telegram.org"
_TOKEN_SHAPE = re.compile(r"\d+:[A-Za-z0-9_-]+")


class TelegramSettings(BaseSettings):
    """Read by both processes: the bot receives with the token, the workers send."""

    bot_token: SecretStr | None = Field(
        default=None,
        description="Telegram: the token @BotFather gave you, like 123456:ABC-DEF...; "
        "unset: no Telegram.",
    )
    telegram_api_url: HttpUrl = Field(
        default=HttpUrl(TELEGRAM_DEFAULT_API_URL),
        description="Bot API server: Telegram's, a self-hosted one, or the local sandbox.",
    )
    telegram_timeout_seconds: float = Field(
        default=15.0, gt=0, le=600, description="Longest wait for one Telegram API call."
    )

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, token: SecretStr | None) -> SecretStr | None:
        if token is not None and not _TOKEN_SHAPE.fullmatch(token.get_secret_value()):
            raise ValueError(
                "does not look like a bot token (digits, a colon, then letters, digits, _ or -); "
                "copy it again from @BotFather"
            )
        return token
