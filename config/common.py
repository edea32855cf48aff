"""The settings every process reads: the channels (``channels.registry``), the batching
rules, logs and metrics. Each process adds its own (:mod:`config.bot`, :mod:`config.worker`).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import Field, HttpUrl, field_validator, model_validator
from pydantic_settings import NoDecode

from channels.registry import ChannelSettings
from shared.models import MessageKind
from shared.rules import BatchingRules


class CommonSettings(ChannelSettings):
    """Settings every process reads: channels, the batching rules, logs and metrics."""

    batch_window_seconds: float = Field(
        default=5.0, gt=0, le=3600, description="Quiet time after the last message."
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
    batch_supersede: bool = Field(
        default=True,
        description="A message that comes before any part of the answer was sent abandons the "
        "batch at the backend and joins it: one answer to the whole burst.",
    )
    backend_vision: bool = Field(
        default=False,
        description="openai: photos are sent inline as data URLs, fetched by the workers while "
        "the person is still writing (MEDIA_CACHE_MAX_BYTES); otherwise they appear as [photo].",
    )
    media_cache_max_bytes: int = Field(
        default=50_000_000,
        ge=0,
        le=2_000_000_000,
        description="With BACKEND_VISION: photos fetched ahead into Redis, at most this many bytes "
        "in all (0: none; past it, a photo is fetched when its batch goes).",
    )
    media_cache_item_max_bytes: int = Field(
        default=5_000_000,
        ge=1,
        le=10_485_760,
        description="A larger photo is not fetched ahead (it is fetched when its batch goes).",
    )
    transcribe_url: HttpUrl | None = Field(
        default=None,
        description="An OpenAI-compatible API's base URL (e.g. https://api.openai.com/v1): "
        "voice notes and audio are transcribed at <url>/audio/transcriptions while the person "
        "is still writing; unset: they are not.",
    )
    transcribe_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        le=600,
        description="Longest a batch waits for a voice note's transcript (counted from the "
        "note; never past BATCH_MAX_WAIT_SECONDS plus this), and one transcription's timeout.",
    )
    handoff_seconds: float = Field(
        default=1800,
        ge=0,
        le=7 * 86400,
        description="How long the assistant stays silent after a human's last message in a "
        "conversation (or POST /handoff, or a backend's handoff: true); 0: takeover off.",
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
            supersede=self.batch_supersede,
            prefetch_photos=self.backend_vision and self.media_cache_max_bytes > 0,
            transcription_wait_ms=_ms(self.transcribe_timeout_seconds)
            if self.transcribe_url
            else 0,
        )


def _ms(seconds: float) -> int:
    return round(seconds * 1000)
