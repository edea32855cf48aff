"""Which chat platforms a deployment serves, and the credentials for each.

A channel is on when its token is set: Telegram with BOT_TOKEN, WhatsApp with
WHATSAPP_ACCESS_TOKEN. Both processes read these (the bot to receive, the workers to
send); the bot's own WhatsApp webhook settings are in ``bot.settings``.
"""

from __future__ import annotations

import re

from pydantic import Field, HttpUrl, SecretStr, field_validator, model_validator

from shared.models import Channel
from shared.redis_settings import RedisConnectionSettings

TELEGRAM_DEFAULT_API_URL = "https://api.telegram.org"
WHATSAPP_DEFAULT_API_URL = "https://graph.facebook.com/v26.0"
_TOKEN_SHAPE = re.compile(r"\d+:[A-Za-z0-9_-]+")


class ChannelSettings(RedisConnectionSettings):
    """At least one channel must be configured; each is independent of the other."""

    bot_token: SecretStr | None = Field(
        default=None,
        description="Telegram: the token @BotFather gave you, like 123456:ABC-DEF...; "
        "unset: no Telegram.",
    )
    telegram_api_url: HttpUrl = Field(
        default=HttpUrl(TELEGRAM_DEFAULT_API_URL),
        description="Bot API server: Telegram's, a self-hosted one, or the local sandbox.",
    )
    whatsapp_access_token: SecretStr | None = Field(
        default=None,
        min_length=8,
        description="WhatsApp Cloud API: a system user's access token with the "
        "whatsapp_business_messaging permission; unset: no WhatsApp.",
    )
    whatsapp_api_url: HttpUrl = Field(
        default=HttpUrl(WHATSAPP_DEFAULT_API_URL),
        description="Graph API base, version included: Meta's, or the local sandbox.",
    )
    whatsapp_timeout_seconds: float = Field(
        default=15.0, gt=0, le=600, description="Longest wait for one Graph API call."
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

    @model_validator(mode="after")
    def _at_least_one_channel(self) -> ChannelSettings:
        if not self.channels:
            raise ValueError(
                "no channel is configured: set BOT_TOKEN for Telegram, WHATSAPP_ACCESS_TOKEN "
                "for WhatsApp, or both"
            )
        return self

    @property
    def channels(self) -> list[Channel]:
        """The channels this deployment serves."""
        served = []
        if self.bot_token is not None:
            served.append(Channel.TELEGRAM)
        if self.whatsapp_access_token is not None:
            served.append(Channel.WHATSAPP)
        return served
