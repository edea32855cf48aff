"""Configuration from environment variables, validated once at start-up: the part every
process shares (Redis in ``shared.redis_settings``, the channels in
``shared.channel_settings``, the batching rules, logs).

Each process adds its own settings beside its code (``bot.settings``,
``worker.settings``). Every process calls :func:`load_settings` before doing anything
else, so a typo in a variable stops it at once with the variable's name instead of
failing on the first message hours later.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from enum import Enum
from typing import Annotated, Any, Literal, TypeVar

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, NoDecode

from shared.channel_settings import ChannelSettings
from shared.models import MessageKind
from shared.redaction import SECRET_NAME_PARTS
from shared.redis_settings import RedisConnectionSettings
from shared.rules import BatchingRules

__all__ = ["CommonSettings", "ConfigError", "RedisConnectionSettings", "load_settings"]


class ConfigError(SystemExit):
    """A setting is missing or wrong; the message names the variable and says what to do."""


class CommonSettings(ChannelSettings):
    """Settings both processes read: channels, the batching rules, logs and metrics."""

    batch_window_seconds: float = Field(
        default=10.0, gt=0, le=3600, description="Quiet time after the last message."
    )
    batch_window_by_kind: Annotated[dict[MessageKind, float], NoDecode] = Field(
        default_factory=dict,
        description="Windows for some kinds instead of BATCH_WINDOW_SECONDS, as JSON: "
        '{"photo": 20, "video": 30}. Kinds: text, photo, video, voice, audio, document, '
        "sticker, location, contact, reaction, interactive, order, other.",
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

    @field_validator("batch_window_by_kind", mode="before")
    @classmethod
    def _kind_windows(cls, value: Any) -> Any:
        """JSON read here, not by pydantic-settings, so each mistake is said in its words."""
        example = 'write it as JSON, e.g. {"photo": 20, "video": 30}'
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.strip() else {}
            except ValueError:
                raise ValueError(f"is not JSON: {example}") from None
        if not isinstance(value, dict):
            raise ValueError(f"must be a JSON object of kinds and seconds: {example}")
        kinds = [kind.value for kind in MessageKind]
        for kind, seconds in value.items():
            if kind not in kinds:
                raise ValueError(f"unknown kind {kind!r}; the kinds are {', '.join(kinds)}")
            if isinstance(seconds, bool) or not isinstance(seconds, int | float):
                raise ValueError(
                    f"the window for {kind} must be a number of seconds, not {seconds!r}"
                )
            if not 0 < seconds <= 3600:
                raise ValueError(f"the window for {kind} must be over 0 and at most 3600 seconds")
        return value

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


def load_settings(
    settings_class: type[Settings],
    *,
    also_check: Sequence[type[BaseSettings]] = (),
    **overrides: Any,
) -> Settings:
    """Read and validate the environment, or stop with every problem spelled out.

    ``also_check`` are the settings of the other processes that share this environment
    (the bot checks the workers' and the other way round): a value that is wrong for
    any of them stops this process too, so a deployment never half-starts on a bad
    ``.env``. Only their values are checked, not what they require.
    """
    problems: list[str] = []
    settings: Settings | None = None
    try:
        settings = settings_class(**overrides)
    except ValidationError as error:
        problems += [_problem_line(settings_class, p) for p in error.errors()]
    for other in also_check:
        try:
            other()
        except ValidationError as error:
            problems += [
                _problem_line(other, p)
                for p in error.errors()
                if p["loc"]
                and p["type"] != "missing"
                and p["loc"][0] not in settings_class.model_fields
            ]
    if settings is not None and not problems:
        return settings
    lines = [f"batchbot cannot start: {len(problems)} configuration problem(s)", *problems]
    raise ConfigError("\n".join(lines)) from None


def _problem_line(settings_class: type[BaseSettings], problem: ErrorDetails) -> str:
    """One problem as ``  NAME: what is wrong (got 'value'); e.g. <the default>``."""
    message = _message(problem)
    if not problem["loc"]:
        return f"  {message}"
    field, *inside = problem["loc"]
    name = str(field).upper()
    where = f" at key {'.'.join(map(str, inside))}" if inside else ""
    secret = any(word in name for word in SECRET_NAME_PARTS)
    hidden = problem["type"] == "missing" or secret or bool(inside)
    shown = "" if hidden else f" (got {problem.get('input')!r})"
    return f"  {name}{where}: {message}{shown}{_example(settings_class, str(field), secret)}"


def _message(problem: ErrorDetails) -> str:
    """pydantic's message, in the words of a setting: characters, not "items"."""
    context = problem.get("ctx") or {}
    if problem["type"] in ("too_short", "string_too_short"):
        return f"must be at least {context.get('min_length')} characters long"
    if problem["type"] in ("too_long", "string_too_long"):
        return f"must be at most {context.get('max_length')} characters long"
    return problem["msg"].removeprefix("Value error, ")


def _example(settings_class: type[BaseSettings], field: str, secret: bool) -> str:
    """What a good value looks like: the default, where there is one to show."""
    info = settings_class.model_fields.get(field)
    if info is None or secret:
        return ""
    if info.is_required():
        return f"; {info.description}" if info.description else ""
    default = info.get_default(call_default_factory=True)
    if default is None or default == {} or isinstance(default, bool):
        return ""
    shown = default.value if isinstance(default, Enum) else default
    return f"; e.g. {shown} (the default)"
