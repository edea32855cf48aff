"""Telegram's settings: on when BOT_TOKEN is set; polling, or webhook mode with WEBHOOK_URL."""

from __future__ import annotations

import re

from pydantic import Field, HttpUrl, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings

TELEGRAM_DEFAULT_API_URL = "https://api.telegram.org"
_TOKEN_SHAPE = re.compile(r"\d+:[A-Za-z0-9_-]+")
_WEBHOOK_SECRET_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,256}")


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
    telegram_startup_wait_seconds: float = Field(
        default=30.0,
        ge=0,
        le=3600,
        description="At start-up, how long a TELEGRAM_API_URL that does not answer is asked "
        "again before the bot gives up (exit 1); a refused BOT_TOKEN stops it at once.",
    )
    start_greeting: str = Field(
        default="Hi! Write to me as you would to a person; I answer when you pause.",
        max_length=4096,
        description="The bot's answer to /start; empty: /start goes to the backend as text.",
    )
    clear_reply: str = Field(
        default="Done: I have forgotten what you sent since my last answer.",
        min_length=1,
        max_length=4096,
        description="The bot's answer to /clear, after dropping the pending messages.",
    )
    answer_bots: bool = Field(
        default=False,
        description="Batch and answer messages other bots send (Bot API 10.0 lets bots "
        "write to each other); false: they are left out. ANSWERS_PER_HOUR_MAX caps a loop.",
    )
    draft_can_stop: bool = Field(
        default=True,
        description="A streamed answer's draft shows a Stop button; pressing it cancels the "
        "backend call and nothing more of that answer is sent.",
    )
    draft_keep_on_stop: bool = Field(
        default=False,
        description="On Stop, what was written so far stays in the chat as a message (and "
        "in the history); false: it goes.",
    )
    webhook_url: HttpUrl | None = Field(
        default=None, description="Public HTTPS URL Telegram posts updates to; unset: polling."
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="Sent by Telegram in X-Telegram-Bot-Api-Secret-Token; required for webhooks.",
    )
    webhook_listen_host: str = Field(
        default="0.0.0.0", description="Where the webhook server binds."
    )
    webhook_listen_port: int = Field(default=8080, ge=1, le=65535)
    _ids_name_the_bot: bool = PrivateAttr(default=False)
    """A TENANTS_FILE bot's settings: its conversation ids name it (``tg:<bot id>:``)."""

    @property
    def bot_id(self) -> str | None:
        """The digits before the token's colon: the bot's own id, known without asking."""
        return self.bot_token.get_secret_value().partition(":")[0] if self.bot_token else None

    @property
    def ids_name_the_bot(self) -> bool:
        return self._ids_name_the_bot

    def naming_the_bot(self) -> TelegramSettings:
        """A copy whose conversation ids name the bot."""
        named = self.model_copy()
        named._ids_name_the_bot = True
        return named

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, token: SecretStr | None) -> SecretStr | None:
        if token is not None and not _TOKEN_SHAPE.fullmatch(token.get_secret_value()):
            raise ValueError(
                "does not look like a bot token (digits, a colon, then letters, digits, _ or -); "
                "copy it again from @BotFather"
            )
        return token

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret_shape(cls, secret: SecretStr | None) -> SecretStr | None:
        if secret is None or _WEBHOOK_SECRET_SHAPE.fullmatch(secret.get_secret_value()):
            return secret
        value = secret.get_secret_value()
        if not 1 <= len(value) <= 256:
            raise ValueError(f"must be 1 to 256 characters long (it is {len(value)})")
        refused = sorted({c for c in value if not _WEBHOOK_SECRET_SHAPE.fullmatch(c)})
        named = ", ".join("space" if c == " " else repr(c) for c in refused)
        raise ValueError(
            f"has characters Telegram refuses ({len(refused)}: {named}); use only A-Z, a-z, "
            "0-9, _ and -, e.g. the output of: python3 -c 'import secrets; "
            "print(secrets.token_urlsafe(32))'"
        )

    @model_validator(mode="after")
    def _webhook_needs_a_secret(self) -> TelegramSettings:
        if self.webhook_url is not None and self.webhook_secret is None:
            raise ValueError(
                "WEBHOOK_SECRET must be set with WEBHOOK_URL (1 to 256 characters of A-Z, a-z, "
                "0-9, _ and -): anyone could post updates otherwise"
            )
        return self
