"""Configuration from environment variables, validated once at start-up: the part every
process shares (Redis in ``shared.redis_settings``, the channels in
``shared.channel_settings``, the batching rules, logs).

Each process adds its own settings beside its code (``bot.settings``,
``worker.settings``). Every process calls :func:`load_settings` before doing anything
else, so a typo in a variable stops it at once with the variable's name instead of
failing on the first message hours later.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import Field, ValidationError, field_validator, model_validator

from shared.channel_settings import ChannelSettings
from shared.models import MessageKind
from shared.redis_settings import RedisConnectionSettings
from shared.rules import BatchingRules

__all__ = ["CommonSettings", "ConfigError", "RedisConnectionSettings", "load_settings"]

_SECRET_NAME_PARTS = ("TOKEN", "SECRET", "REDIS_URL")
"""A setting whose name has one of these may hold a secret: never echo its value."""


class ConfigError(SystemExit):
    """A setting is missing or wrong; the message names the variable and says what to do."""


class CommonSettings(ChannelSettings):
    """Settings both processes read: channels, the batching rules, logs and metrics."""

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
