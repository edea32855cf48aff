"""The bot process's settings: shutdown, metrics port, how long a webhook waits for Redis;
and, for every configured channel, what its intake needs (``channels.registry``)."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator

from config.common import CommonSettings


class BotSettings(CommonSettings):
    """What the bot process reads beyond every channel's settings."""

    proactive_token: SecretStr | None = Field(
        default=None,
        min_length=16,
        description="Enables POST /proactive on the metrics port for requests bearing it.",
    )
    bot_shutdown_grace_seconds: float = Field(
        default=8.0,
        ge=0,
        le=3600,
        description="On SIGTERM, how long messages being stored may take to reach Redis.",
    )
    bot_metrics_port: int = Field(
        default=9100, ge=0, le=65535, description="Port of /metrics and /healthz; 0: off."
    )
    webhook_store_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        le=50,
        description="How long a webhook request waits for Redis before answering 503.",
    )

    @model_validator(mode="after")
    def _every_channel_can_receive(self) -> BotSettings:
        problems = [p for a in self.configured_adapters if (p := a.intake_problem(self))]
        if problems:
            raise ValueError("; ".join(problems))
        return self
