"""Configuration from environment variables, validated once at start-up: the part every
process shares (Redis, Telegram, the batching rules, logs).

Each process adds its own settings beside its code (``bot.settings``,
``worker.settings``). Every process calls :func:`load_settings` before doing anything
else, so a typo in a variable stops it at once with the variable's name instead of
failing on the first message hours later.
"""

from __future__ import annotations

import re
from typing import Any, Literal, TypeVar

from pydantic import (
    Field,
    FilePath,
    HttpUrl,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.models import MessageKind
from shared.rules import BatchingRules

TELEGRAM_DEFAULT_API_URL = "https://api.telegram.org"
_SENTINELS_SHAPE = re.compile(r"\s*[^\s,:]+:\d+\s*(,\s*[^\s,:]+:\d+\s*)*")
_TOKEN_SHAPE = re.compile(r"\d+:[A-Za-z0-9_-]+")
_SECRET_NAME_PARTS = ("TOKEN", "SECRET", "REDIS_URL")
"""A setting whose name has one of these may hold a secret: never echo its value."""


class ConfigError(SystemExit):
    """A setting is missing or wrong; the message names the variable and says what to do."""


class RedisConnectionSettings(BaseSettings):
    """Where Redis is: every process and the ``batchctl`` tool read these."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)

    redis_url: str = Field(
        default="redis://localhost:6379/0",
        pattern=r"^(redis|rediss|unix)://",
        description="redis://, rediss:// (TLS) or unix:// URL; may carry a user and password.",
    )
    redis_tls_ca_file: FilePath | None = Field(
        default=None,
        description="PEM file of the CA that signed Redis's certificate, for rediss:// "
        "with a private CA; unset: the system's trusted CAs.",
    )
    redis_key_ttl_seconds: int = Field(
        default=7 * 86400,
        ge=86400,
        description="Safety-net expiry of every batch key; never the timer.",
    )
    redis_sentinels: str | None = Field(
        default=None,
        description="Redis Sentinels as comma-separated host:port; REDIS_URL then gives only "
        "the database, user and password.",
    )
    redis_sentinel_master: str | None = Field(
        default=None, min_length=1, description="The service name the Sentinels monitor."
    )
    redis_wait_replicas: int = Field(
        default=0,
        ge=0,
        le=16,
        description="A message is acknowledged to Telegram only once this many replicas "
        "hold it (Redis WAIT), so a failover cannot lose it.",
    )

    @field_validator("redis_sentinels")
    @classmethod
    def _sentinels_are_host_port_pairs(cls, value: str | None) -> str | None:
        if value is not None and not _SENTINELS_SHAPE.fullmatch(value):
            raise ValueError(
                "expected the Sentinels as host:port, comma-separated, like "
                "sentinel-1:26379,sentinel-2:26379,sentinel-3:26379"
            )
        return value

    @property
    def sentinel_addresses(self) -> list[tuple[str, int]]:
        """REDIS_SENTINELS as (host, port) pairs; empty without Sentinel."""
        if not self.redis_sentinels:
            return []
        pairs = [entry.strip().rsplit(":", 1) for entry in self.redis_sentinels.split(",")]
        return [(host, int(port)) for host, port in pairs]

    @model_validator(mode="after")
    def _sentinels_need_a_master_name(self) -> RedisConnectionSettings:
        if bool(self.redis_sentinels) != bool(self.redis_sentinel_master):
            raise ValueError(
                "REDIS_SENTINELS and REDIS_SENTINEL_MASTER go together: set both to use "
                "Sentinel (the service name is in the Sentinels' configuration), or neither"
            )
        return self

    @model_validator(mode="after")
    def _ca_file_needs_tls(self) -> RedisConnectionSettings:
        if self.redis_tls_ca_file is not None and not self.redis_url.startswith("rediss://"):
            raise ValueError(
                "REDIS_TLS_CA_FILE is set but REDIS_URL does not start with rediss://; "
                "use rediss:// to connect with TLS, or unset REDIS_TLS_CA_FILE"
            )
        return self


class CommonSettings(RedisConnectionSettings):
    """Settings both processes read: Telegram, the batching rules, logs and metrics."""

    bot_token: SecretStr = Field(
        description="The token @BotFather gave you, like 123456:ABC-DEF...",
    )
    telegram_api_url: HttpUrl = Field(
        default=HttpUrl(TELEGRAM_DEFAULT_API_URL),
        description="Bot API server: Telegram's, a self-hosted one, or the local sandbox.",
    )
    batch_window_seconds: float = Field(
        default=10.0, gt=0, le=3600, description="Quiet time after the last message."
    )
    batch_window_by_kind: dict[MessageKind, float] = Field(
        default_factory=dict,
        description="Windows for some kinds instead of BATCH_WINDOW_SECONDS, as JSON: "
        '{"photo": 20, "video": 30}. Kinds: text, photo, video, voice, audio, document, '
        "sticker, location, contact, other.",
    )
    batch_album_grace_seconds: float = Field(
        default=1.5,
        ge=0,
        le=60,
        description="After each item of an album, wait at least this long for the next one, "
        "even past BATCH_MAX_WAIT_SECONDS or BATCH_MAX_MESSAGES.",
    )
    batch_max_messages: int = Field(
        default=10, ge=1, le=1000, description="A batch this long is processed at once."
    )
    batch_max_wait_seconds: float = Field(
        default=60.0, gt=0, le=86400, description="Longest wait after a batch's first message."
    )
    batch_max_pending_messages: int = Field(
        default=200, ge=1, description="Pending messages one person may have; more are refused."
    )
    batch_max_pending_bytes: int = Field(
        default=1_048_576, ge=1024, description="Pending bytes one person may have."
    )
    message_max_bytes: int = Field(
        default=65_536, ge=1024, description="Largest single message stored, as JSON."
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="json: one JSON object per line, for log collectors."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="INFO")
    metrics_host: str = Field(
        default="0.0.0.0", description="Where the /metrics and /healthz server binds."
    )

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, token: SecretStr) -> SecretStr:
        if not _TOKEN_SHAPE.fullmatch(token.get_secret_value()):
            raise ValueError(
                "does not look like a bot token (digits, a colon, then letters, digits, _ or -); "
                "copy it again from @BotFather"
            )
        return token

    @model_validator(mode="after")
    def _max_wait_covers_window(self) -> CommonSettings:
        if self.batch_max_wait_seconds < self.batch_window_seconds:
            raise ValueError(
                f"BATCH_MAX_WAIT_SECONDS ({self.batch_max_wait_seconds:g}) must be at least "
                f"BATCH_WINDOW_SECONDS ({self.batch_window_seconds:g}); raise the max wait "
                "or shorten the window"
            )
        return self

    @field_validator("batch_window_by_kind")
    @classmethod
    def _kind_windows_in_range(cls, windows: dict[MessageKind, float]) -> dict[MessageKind, float]:
        for kind, seconds in windows.items():
            if not 0 < seconds <= 3600:
                raise ValueError(f"the window for {kind.value} must be over 0 and at most 3600 s")
        return windows

    def batching_rules(self) -> BatchingRules:
        """The rules as one value, in the milliseconds the append script works in."""
        return BatchingRules(
            window_ms=_ms(self.batch_window_seconds),
            max_wait_ms=_ms(self.batch_max_wait_seconds),
            max_messages=self.batch_max_messages,
            max_pending_messages=self.batch_max_pending_messages,
            max_pending_bytes=self.batch_max_pending_bytes,
            max_message_bytes=self.message_max_bytes,
            album_grace_ms=_ms(self.batch_album_grace_seconds),
            window_ms_by_kind={k: _ms(s) for k, s in self.batch_window_by_kind.items()},
        )


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


Settings = TypeVar("Settings", bound=RedisConnectionSettings)


def load_settings(settings_class: type[Settings], **overrides: Any) -> Settings:
    """Read and validate the environment, or stop with every problem spelled out."""
    try:
        return settings_class(**overrides)
    except ValidationError as error:
        lines = [f"batchbot cannot start: {error.error_count()} configuration problem(s)"]
        for problem in error.errors():
            name = "_".join(str(part) for part in problem["loc"]).upper()
            message = problem["msg"].removeprefix("Value error, ")
            if name:
                secret = any(word in name for word in _SECRET_NAME_PARTS)
                hidden = problem["type"] == "missing" or secret
                shown = "" if hidden else f" (got {problem.get('input')!r})"
                lines.append(f"  {name}: {message}{shown}")
            else:
                lines.append(f"  {message}")
        raise ConfigError("\n".join(lines)) from None
