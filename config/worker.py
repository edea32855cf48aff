"""A worker process's settings: the backend, replies, timeouts, polling, the sweep.

Importing this module is cheap (no ARQ worker, no aiogram), so ``python -m worker
--check`` can read it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, FilePath, HttpUrl, SecretStr, model_validator

from channels.registry import adapters_of
from config.common import CommonSettings


class WorkerProcessSettings(CommonSettings):
    """What a worker needs on top: the backend, timeouts and polling."""

    backend_url: HttpUrl = Field(
        description="Full URL of the backend's batch endpoint, e.g. http://backend:8000/webhook/batch"
    )
    backend_protocol: Literal["batchbot", "openai"] = Field(
        default="batchbot",
        description="batchbot: BACKEND_URL speaks batchbot's contract; openai: BACKEND_URL is an "
        "OpenAI-compatible chat-completions endpoint (OpenAI, Ollama, vLLM, LiteLLM...).",
    )
    backend_model: str | None = Field(
        default=None, min_length=1, description="openai: the model to ask, e.g. gpt-4o-mini."
    )
    backend_system_prompt: str | None = Field(
        default=None, min_length=1, description="openai: the system message."
    )
    backend_system_prompt_file: FilePath | None = Field(
        default=None, description="openai: a file holding the system message instead."
    )
    backend_bearer_token: SecretStr | None = Field(
        default=None, description="Sent as 'Authorization: Bearer <token>' to the backend."
    )
    backend_signing_secret: SecretStr | None = Field(
        default=None,
        min_length=16,
        description="Signs each request body with HMAC-SHA256 (X-Batchbot-Signature).",
    )
    transcribe_api_key: SecretStr | None = Field(
        default=None, description="Sent as 'Authorization: Bearer <key>' to TRANSCRIBE_URL."
    )
    transcribe_model: str = Field(
        default="whisper-1", min_length=1, description="The transcription model to ask."
    )
    transcribe_language: str | None = Field(
        default=None,
        min_length=2,
        description="The language voice notes are in (ISO-639-1, e.g. es), if always the same.",
    )
    transcribe_max_bytes: int = Field(
        default=20_000_000,
        ge=1024,
        le=25_000_000,
        description="A voice note larger than this is not transcribed (its transcript_error "
        "says so); Telegram gives bots files up to 20 MB, OpenAI takes up to 25 MB.",
    )
    transcribe_concurrency: int = Field(
        default=50,
        ge=1,
        le=1000,
        description="Voice notes one worker transcribes at once (each an HTTP call that "
        "mostly waits); a burst of notes beyond all workers' share waits its turn.",
    )
    transcribe_max_seconds: int = Field(
        default=600,
        ge=1,
        le=7200,
        description="A voice note longer than this (where the channel says) is not transcribed.",
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
    history_turns: int = Field(
        default=0,
        ge=0,
        le=200,
        description="Send each batch with the conversation's last this many turns (what the "
        "person wrote, what was delivered), for backends that keep no memory; 0: off.",
    )
    history_max_bytes: int = Field(
        default=32_768, ge=1024, le=1_048_576, description="The turns kept never exceed this."
    )
    history_ttl_seconds: int = Field(
        default=7 * 86400,
        ge=60,
        description="A conversation's turns are forgotten after this long without a batch.",
    )
    draft_updates_per_second: float = Field(
        default=2.0,
        ge=0,
        le=10,
        description="When the backend streams its answer: how often a Telegram private chat's "
        "draft (the answer so far) is updated, and in Business chats and groups the message "
        "it grows in is edited; 0: neither, 'typing…' only.",
    )
    answers_per_hour_max: int = Field(
        default=120,
        ge=0,
        le=100_000,
        description="A conversation answered this often in the last hour is taken for two "
        "bots answering each other: its batches go unanswered until the count falls (one "
        "log line, batchbot_answers_capped_total); 0: no cap.",
    )
    draft_thinking: bool = Field(
        default=True,
        description="Where drafts are shown: Telegram's 'Thinking…' placeholder from the "
        "claim until the first streamed piece or the answer; false: 'typing…' until then.",
    )
    draft_reasoning: bool = Field(
        default=False,
        description="When the backend streams its reasoning: a Telegram private chat's "
        "draft shows it in a thinking block above the answer (never in the message or the "
        "history).",
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
    max_batches_in_flight: int = Field(
        default=0,
        ge=0,
        le=100_000,
        description="A tenant's batches being answered at once, across all workers; more wait "
        "while others' are taken (TENANTS_FILE sets it per tenant); 0: no limit.",
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
    worker_lease_seconds: float = Field(
        default=5.0,
        ge=1,
        le=600,
        description="A running batch's lease: renewed every third of it; a worker that stops "
        "renewing (killed, stalled) has its batch handed to another worker about this long "
        "after its last renewal.",
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
    def _openai_mode_is_complete(self) -> WorkerProcessSettings:
        if self.backend_protocol == "openai" and self.backend_model is None:
            raise ValueError(
                "BACKEND_PROTOCOL=openai needs BACKEND_MODEL: the model name the endpoint "
                "serves (gpt-4o-mini, llama3.2, ...)"
            )
        path = (self.backend_url.path or "").rstrip("/")
        if self.backend_protocol == "openai" and not path.endswith("/chat/completions"):
            raise ValueError(
                f"BACKEND_URL must be the chat-completions endpoint itself with "
                f"BACKEND_PROTOCOL=openai, not a base URL (got the path {path or '/'!r}); e.g. "
                "https://api.openai.com/v1/chat/completions or "
                "http://ollama:11434/v1/chat/completions"
            )
        if self.backend_system_prompt is not None and self.backend_system_prompt_file:
            raise ValueError("set BACKEND_SYSTEM_PROMPT or BACKEND_SYSTEM_PROMPT_FILE, not both")
        return self

    @property
    def system_prompt(self) -> str | None:
        """BACKEND_SYSTEM_PROMPT, or the text of BACKEND_SYSTEM_PROMPT_FILE."""
        if self.backend_system_prompt_file is not None:
            return self.backend_system_prompt_file.read_text(encoding="utf-8").strip() or None
        return self.backend_system_prompt

    @model_validator(mode="after")
    def _job_timeout_covers_one_exchange(self) -> WorkerProcessSettings:
        timeout = self.worker_job_timeout_seconds
        for adapter in adapters_of(self):
            needed = self.backend_timeout_seconds + adapter.send_timeout_seconds
            if timeout < needed:
                send = f"{adapter.channel.value.upper()}_TIMEOUT_SECONDS"
                raise ValueError(
                    f"WORKER_JOB_TIMEOUT_SECONDS ({timeout:g}) must be at least "
                    f"BACKEND_TIMEOUT_SECONDS + {send} ({needed:g}): a batch needs one backend "
                    "call and one send"
                )
        return self

    @property
    def lease_ms(self) -> int:
        return round(self.worker_lease_seconds * 1000)

    @property
    def lock_ms(self) -> int:
        """How long ARQ locks a job it starts: the job timeout plus 10 s (arq 0.28)."""
        return round(self.recovery_seconds * 1000)

    @property
    def recovery_seconds(self) -> float:
        """How long a killed worker's batch stays locked: ARQ's job timeout plus 10 s."""
        return self.worker_job_timeout_seconds + 10
