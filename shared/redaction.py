"""Secrets cut out of everything a process writes down: log lines, and what it stores in
Redis or serves (dead letters and their reasons, stored answers, the console).

A provider or proxy that refuses a key often repeats it in its error, and a backend may
echo a token in its answer; the process cannot tell, so it replaces every secret it
knows wherever text leaves it. Stored JSON is covered too: a secret holding a quote or a
backslash appears escaped there, so both spellings are cut.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

from pydantic import SecretStr
from pydantic_settings import BaseSettings

from shared.models import BatchResponse, to_json

REDACTED = "[redacted]"

SECRET_NAME_PARTS = ("TOKEN", "SECRET", "PASSWORD", "REDIS_URL")
"""A setting whose name has one of these may hold a secret: never echo its value."""

REASON_MAX_CHARS = 2000
"""A stored reason (a dead letter's) is cut to this: enough to see what went wrong, never a
provider's whole HTML page."""


class Redactor:
    """Replaces each known secret (longest first, so one inside another is cut whole)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self._given = list(secrets)
        spellings: set[str] = set()
        for secret in self._given:
            if secret:
                spellings.add(secret)
                spellings.add(json.dumps(secret, ensure_ascii=False)[1:-1])
        self._secrets = sorted(spellings, key=len, reverse=True)

    def also(self, secrets: Iterable[str]) -> Redactor:
        """These secrets and ``secrets`` too."""
        return Redactor([*self._given, *secrets])

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def reason(self, text: str) -> str:
        """A stored reason: secrets cut, then shortened to :data:`REASON_MAX_CHARS`."""
        text = self(text)
        if len(text) <= REASON_MAX_CHARS:
            return text
        return text[:REASON_MAX_CHARS] + f"… ({len(text)} characters in all)"


NO_SECRETS = Redactor(())


def redacted_answer(answer: BatchResponse, redact: Redactor) -> BatchResponse:
    """The answer with every secret of this process cut out, before it is stored or sent:
    a backend that echoes an API key must not put it in Redis or in front of a person."""
    raw = to_json(answer)
    cut = redact(raw)
    return answer if cut == raw else BatchResponse.model_validate_json(cut)


def secrets_of(settings: object) -> list[str]:
    """Every secret value the settings hold, including a password inside REDIS_URL."""
    found: list[str] = []
    fields: dict[str, object] = getattr(type(settings), "model_fields", {})
    for name in fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
    redis_url = getattr(settings, "redis_url", "")
    password = urlsplit(redis_url).password if isinstance(redis_url, str) else None
    if password:
        found.append(password)
    return found


def secrets_in_environment(environment: Mapping[str, str] | None = None) -> list[str]:
    """Secrets of the environment by their names: what a tool that reads Redis (batchctl,
    the console) knows of the other processes' secrets when it runs beside them."""
    env = os.environ if environment is None else environment
    found: list[str] = []
    for name, value in env.items():
        upper = name.upper()
        if not value or not any(part in upper for part in SECRET_NAME_PARTS):
            continue
        if upper.endswith("REDIS_URL") or "://" in value:
            password = urlsplit(value).password
            if password:
                found.append(password)
        elif len(value) >= 6:  # "true" or "1" is a switch, not a secret worth hiding
            found.append(value)
    return found


def tool_redactor(settings: BaseSettings) -> Redactor:
    """For batchctl and the console, which read what the bot and workers stored: their
    own secrets and those of the environment they share with those processes (a dead
    letter stored by an older worker may still hold a key)."""
    return Redactor([*secrets_of(settings), *secrets_in_environment()])
