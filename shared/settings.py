"""Configuration from environment variables, validated once at start-up.

Every process calls :func:`load_settings` before doing anything else, so a typo in a
variable stops it at once with the variable's name instead of failing on the first
message hours later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
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

TELEGRAM_DEFAULT_API_URL = "https://api.telegram.org"
_TOKEN_SHAPE = re.compile(r"\d+:[A-Za-z0-9_-]+")
_WEBHOOK_SECRET_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,256}")
_SECRET_NAME_PARTS = ("TOKEN", "SECRET", "REDIS_URL")
"""A setting whose name has one of these may hold a secret: never echo its value."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-conversation bounds, so no person can grow Redis without limit."""

    max_pending_messages: int
    max_pending_bytes: int
    max_message_bytes: int


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

    @property
    def limits(self) -> Limits:
        return Limits(
            max_pending_messages=self.batch_max_pending_messages,
            max_pending_bytes=self.batch_max_pending_bytes,
            max_message_bytes=self.message_max_bytes,
        )

    @field_validator("batch_window_by_kind")
    @classmethod
    def _kind_windows_in_range(cls, windows: dict[MessageKind, float]) -> dict[MessageKind, float]:
        for kind, seconds in windows.items():
            if not 0 < seconds <= 3600:
                raise ValueError(f"the window for {kind.value} must be over 0 and at most 3600 s")
        return windows

    @property
    def window_ms(self) -> int:
        return round(self.batch_window_seconds * 1000)

    def window_ms_for(self, kind: MessageKind) -> int:
        """The quiet time after a message of this kind (BATCH_WINDOW_BY_KIND, or the window)."""
        return round(self.batch_window_by_kind.get(kind, self.batch_window_seconds) * 1000)

    @property
    def album_grace_ms(self) -> int:
        return round(self.batch_album_grace_seconds * 1000)

    @property
    def max_wait_ms(self) -> int:
        return round(self.batch_max_wait_seconds * 1000)


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
    def _webhook_needs_a_secret(self) -> BotSettings:
        if self.webhook_url is None:
            return self
        secret = self.webhook_secret.get_secret_value() if self.webhook_secret else ""
        if not _WEBHOOK_SECRET_SHAPE.fullmatch(secret):
            raise ValueError(
                "WEBHOOK_SECRET must be set with WEBHOOK_URL: 1 to 256 characters of "
                "A-Z, a-z, 0-9, _ and - (Telegram's rule); anyone could post updates otherwise"
            )
        return self


class WorkerProcessSettings(CommonSettings):
    """What a worker needs on top: the backend, timeouts and polling."""

    backend_url: HttpUrl = Field(
        description="Full URL of the backend's batch endpoint, e.g. http://backend:8000/webhook/batch"
    )
    backend_bearer_token: SecretStr | None = Field(
        default=None, description="Sent as 'Authorization: Bearer <token>' to the backend."
    )
    backend_signing_secret: SecretStr | None = Field(
        default=None,
        min_length=16,
        description="Signs each request body with HMAC-SHA256 (X-Batchbot-Signature).",
    )
    backend_timeout_seconds: float = Field(
        default=30.0, gt=0, le=600, description="Longest wait for one backend answer."
    )
    backend_retry_base_seconds: float = Field(
        default=1.0, gt=0, le=600, description="First back-off after a retryable backend error."
    )
    backend_retry_max_seconds: float = Field(
        default=60.0, gt=0, le=3600, description="Back-off never grows past this."
    )
    backend_retry_budget_seconds: float = Field(
        default=600.0,
        gt=0,
        le=43200,
        description="How long a batch is retried before it becomes a dead letter.",
    )
    backend_failure_reply: str = Field(
        default="Sorry, I can't answer right now. Please try again in a little while.",
        max_length=4096,
        description="Sent to the person when their batch becomes a dead letter; empty: none.",
    )
    group_answer_when: Literal["mentioned", "always"] = Field(
        default="mentioned",
        description="In group chats: answer a person's batch only when one of its messages "
        "mentions the bot or replies to it ('mentioned'), or every batch ('always').",
    )
    reply_pacing_seconds_per_character: float = Field(
        default=0.02,
        ge=0,
        le=1,
        description="Pause before each reply message after the first, per character of it.",
    )
    reply_pacing_max_seconds: float = Field(
        default=2.0, ge=0, le=30, description="The pause before a reply message never exceeds this."
    )
    typing_refresh_seconds: float = Field(
        default=4.0,
        ge=1,
        le=30,
        description="How often 'typing…' is sent again while the backend works (it shows 5 s).",
    )
    telegram_timeout_seconds: float = Field(
        default=15.0, gt=0, le=600, description="Longest wait for one Telegram API call."
    )
    worker_job_timeout_seconds: float = Field(
        default=90.0,
        gt=0,
        le=3600,
        description="Longest run of one batch; a killed worker's batch resumes 10 s after this.",
    )
    worker_poll_delay_seconds: float = Field(
        default=0.05, gt=0, le=5, description="How often a worker looks for due batches."
    )
    worker_max_jobs: int = Field(
        default=20, ge=1, le=10000, description="Batches one worker process handles at once."
    )
    worker_max_tries: int = Field(
        default=50, ge=1, description="Runs of one batch job before the sweep takes over."
    )
    worker_queue_read_limit: int = Field(
        default=1000,
        ge=10,
        description="Due jobs read per poll; must exceed worker replicas x WORKER_MAX_JOBS.",
    )
    worker_shutdown_grace_seconds: int = Field(
        default=8,
        ge=0,
        le=3600,
        description="On SIGTERM, how long running batches may finish before being re-queued.",
    )
    redis_outage_tolerance_seconds: float = Field(
        default=60.0,
        ge=0,
        le=3600,
        description="How long a worker waits for an unreachable Redis before it exits.",
    )
    sweep_interval_seconds: float = Field(
        default=5.0, gt=0, le=3600, description="How often a worker reschedules stranded batches."
    )
    worker_metrics_port: int = Field(
        default=9101, ge=0, le=65535, description="Port of /metrics and /healthz; 0: off."
    )
    worker_health_check_interval_seconds: float = Field(
        default=10.0,
        ge=1,
        le=3600,
        description="How often a worker records its health key for `python -m worker --check`.",
    )

    @model_validator(mode="after")
    def _job_timeout_covers_one_exchange(self) -> WorkerProcessSettings:
        needed = self.backend_timeout_seconds + self.telegram_timeout_seconds
        timeout = self.worker_job_timeout_seconds
        if timeout < needed:
            raise ValueError(
                f"WORKER_JOB_TIMEOUT_SECONDS ({timeout:g}) must be at least "
                f"BACKEND_TIMEOUT_SECONDS + TELEGRAM_TIMEOUT_SECONDS ({needed:g}): a batch needs "
                "one backend call and one send"
            )
        return self

    @property
    def recovery_seconds(self) -> float:
        """How long a killed worker's batch stays locked: ARQ's job timeout plus 10 s."""
        return self.worker_job_timeout_seconds + 10


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
