"""Log set-up for every process: text or one JSON object per line, secrets never shown.

Log lines carry ids (``conversation``, ``batch_id``, ``message_id``) as fields,
passed with ``extra=``, so a log collector can follow one person or one batch. They
never carry message text. The secrets a process knows (bot token, Redis password,
backend credentials, webhook secret) are cut out of every line, exception traces
included: libraries log URLs and errors we do not control, and the bot token is
part of every Bot API URL.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Protocol

from shared.redaction import REDACTED, Redactor, secrets_of

__all__ = ["REDACTED", "JsonFormatter", "RedactingFormatter", "TextFormatter", "secrets_of"]
CONTEXT_FIELDS = ("tenant", "conversation", "batch_id", "message_id", "chat_id")
"""Fields a log call may pass with ``extra=``; JSON lines carry them as keys."""

_tenant: ContextVar[str | None] = ContextVar("tenant", default=None)


def serving_tenant(name: str | None) -> None:
    """Every line the current task logs from now on names this tenant (set where a
    tenant is resolved: a bot's receiver, a delivery, a batch's job)."""
    _tenant.set(name)


class _TenantNamed(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "tenant", None) is None:
            record.tenant = _tenant.get()
        return True


def describe(error: BaseException, timeout_seconds: float) -> str:
    """An error as a reader needs it; a bare timeout says how long was waited."""
    if isinstance(error, TimeoutError) and not str(error):
        return f"no answer within {timeout_seconds:g}s"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


class RedactingFormatter(logging.Formatter):
    """Formats with ``inner``, then replaces every known secret in the result."""

    def __init__(self, inner: logging.Formatter, secrets: Iterable[str]) -> None:
        super().__init__()
        self.inner = inner
        self.redact = Redactor(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(self.inner.format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, ids, and any exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The usual one-line format, with the ids appended as ``name=value``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(name)s %(levelname)s %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        ids = [
            f"{name}={getattr(record, name)}"
            for name in CONTEXT_FIELDS
            if getattr(record, name, None) is not None
        ]
        return f"{line} [{' '.join(ids)}]" if ids else line


class LogSettings(Protocol):
    """What logging reads of a process's settings (``config.common``)."""

    @property
    def log_format(self) -> str: ...

    @property
    def log_level(self) -> str: ...


ARQ_LOGGERS = ("arq.worker", "arq.jobs", "arq.connections", "arq.utils")
"""The loggers ARQ 0.28 writes to (its modules' ``getLogger`` names)."""


class _ArqOwnHandlerRemoved(logging.Filter):
    """ARQ's CLI (``arq worker.main.WorkerSettings``) reads the settings, which configure
    this logging, and only then applies its own logging config: a second handler on the
    ``arq`` logger, so every ARQ line came out twice, once unredacted. That handler is
    taken off when ARQ logs its first line; ours stays."""

    def filter(self, record: logging.LogRecord) -> bool:
        arq = logging.getLogger("arq")
        for handler in list(arq.handlers):
            arq.removeHandler(handler)
        return True


def redact_also(secrets: Iterable[str]) -> None:
    """Secrets learnt after start-up (TENANTS_FILE's tokens) cut from every line too."""
    for handler in logging.getLogger().handlers:
        formatter = handler.formatter
        if isinstance(formatter, RedactingFormatter):
            formatter.redact = formatter.redact.also(secrets)


def configure_logging(settings: LogSettings) -> None:
    """Route every logger (ours, aiogram's, ARQ's, httpx's) through one redacting handler."""
    inner: logging.Formatter = JsonFormatter() if settings.log_format == "json" else TextFormatter()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter(inner, secrets_of(settings)))
    handler.addFilter(_TenantNamed())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    for name in ARQ_LOGGERS:
        logging.getLogger(name).addFilter(_ArqOwnHandlerRemoved())
    if settings.log_level != "DEBUG":
        # A line per HTTP request (httpx) and per update (aiogram) is noise at scale;
        # the metrics count both.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        logging.getLogger("aiogram.event").setLevel(logging.WARNING)
