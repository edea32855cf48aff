"""Reading configuration from environment variables, validated once at start-up, and
saying each problem in the words of its setting.

The settings themselves are the processes' (``config``: what every process shares, the
bot's, the workers'; Redis in ``shared.redis_settings``; each channel's in its folder).
Every process calls :func:`load_settings` before doing anything else, so a typo in a
variable stops it at once with the variable's name instead of failing on the first
message hours later.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import Any, TypeVar

from pydantic import ValidationError
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings

from shared.redaction import SECRET_NAME_PARTS
from shared.redis_settings import RedisConnectionSettings

__all__ = ["ConfigError", "RedisConnectionSettings", "load_settings"]


class ConfigError(SystemExit):
    """A setting is missing or wrong; the message names the variable and says what to do."""


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
    # One line per mistake, each whole: a log collector keeps lines, not blocks.
    raise ConfigError("\n".join(f"batchbot cannot start: {p}" for p in problems)) from None


def _problem_line(settings_class: type[BaseSettings], problem: ErrorDetails) -> str:
    """One problem as ``NAME: what is wrong (got 'value'); e.g. <the default>``."""
    message = problem_message(problem)
    if not problem["loc"]:
        return message
    field, *inside = problem["loc"]
    name = str(field).upper()
    where = f" at key {'.'.join(map(str, inside))}" if inside else ""
    secret = any(word in name for word in SECRET_NAME_PARTS)
    hidden = problem["type"] == "missing" or secret or bool(inside)
    shown = "" if hidden else f" (got {problem.get('input')!r})"
    return f"{name}{where}: {message}{shown}{_example(settings_class, str(field), secret)}"


def problem_message(problem: ErrorDetails) -> str:
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
    if default is None or default == {}:
        return ""
    if isinstance(default, bool):
        return f"; true or false, e.g. {str(default).lower()} (the default)"
    shown = default.value if isinstance(default, Enum) else default
    return f"; e.g. {shown} (the default)"
