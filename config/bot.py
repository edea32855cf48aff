"""The bot process's settings: commands, shutdown, metrics port, Telegram's webhook mode;
and, for every configured channel, what its intake needs (``channels.registry``)."""

from __future__ import annotations

import re

from pydantic import Field, HttpUrl, SecretStr, field_validator, model_validator

from config.common import CommonSettings

_WEBHOOK_SECRET_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,256}")


class BotSettings(CommonSettings):
    """Polling by default; webhook mode when WEBHOOK_URL is set."""

    start_greeting: str = Field(
        default="Hi! Write to me as you would to a person; I answer when you pause.",
        max_length=4096,
        description="The bot's answer to /start; empty: /start goes to the backend as text.",
    )
    proactive_token: SecretStr | None = Field(
        default=None,
        min_length=16,
        description="Enables POST /proactive on the metrics port for requests bearing it.",
    )
    clear_reply: str = Field(
        default="Done: I have forgotten what you sent since my last answer.",
        min_length=1,
        max_length=4096,
        description="The bot's answer to /clear, after dropping the pending messages.",
    )

    bot_shutdown_grace_seconds: float = Field(
        default=8.0,
        ge=0,
        le=3600,
        description="On SIGTERM, how long messages being stored may take to reach Redis.",
    )
    telegram_startup_wait_seconds: float = Field(
        default=30.0,
        ge=0,
        le=3600,
        description="At start-up, how long a TELEGRAM_API_URL that does not answer is asked "
        "again before the bot gives up (exit 1); a refused BOT_TOKEN stops it at once.",
    )
    bot_metrics_port: int = Field(
        default=9100, ge=0, le=65535, description="Port of /metrics and /healthz; 0: off."
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
    webhook_store_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        le=50,
        description="How long a webhook request waits for Redis before answering 503.",
    )

    @model_validator(mode="after")
    def _every_channel_can_receive(self) -> BotSettings:
        problems = [p for e in self.configured_entries if (p := e.intake_problem(self))]
        if problems:
            raise ValueError("; ".join(problems))
        return self

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
    def _webhook_needs_a_secret(self) -> BotSettings:
        if self.webhook_url is not None and self.webhook_secret is None:
            raise ValueError(
                "WEBHOOK_SECRET must be set with WEBHOOK_URL (1 to 256 characters of A-Z, a-z, "
                "0-9, _ and -): anyone could post updates otherwise"
            )
        return self
