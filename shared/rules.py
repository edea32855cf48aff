"""The batching rules as one frozen value, built once from settings at start-up.

The bot applies them to every message (inside the append script); keeping them
together means a new rule changes one type, not every call site.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from shared.models import MessageKind

TRANSCRIBED_KINDS = (MessageKind.VOICE, MessageKind.AUDIO)
"""What TRANSCRIBE_URL turns into words."""


@dataclass(frozen=True, slots=True)
class BatchingRules:
    """When a batch is due, and how much one person may have waiting (all times in ms)."""

    window_ms: int
    """Quiet time after a message before its batch goes (the debounce)."""
    max_wait_ms: int
    """A batch never waits longer than this after its first message."""
    max_messages: int
    """The message that makes a batch this long makes it due at once."""
    max_pending_messages: int
    max_pending_bytes: int
    max_message_bytes: int
    album_grace_ms: int = 0
    """After each album item, the batch waits at least this long for the next one."""
    window_ms_by_kind: Mapping[MessageKind, int] = field(default_factory=dict)
    supersede: bool = True
    """A message before any part of the answer went abandons the batch at the backend and
    joins its messages (BATCH_SUPERSEDE)."""
    transcription_wait_ms: int = 0
    """How long a batch may wait for a voice note's transcript (TRANSCRIBE_TIMEOUT_SECONDS);
    0: voice notes are not transcribed (TRANSCRIBE_URL unset)."""

    prefetch_photos: bool = False
    """Photos are fetched while the person writes, for a model that sees images."""

    def prefetch_for(self, kind: MessageKind) -> int:
        """1 when this message's file is fetched ahead (queued, with no wait), else 0."""
        return int(self.prefetch_photos and kind is MessageKind.PHOTO)

    def transcription_wait_ms_for(self, kind: MessageKind) -> int:
        """The wait for this message's transcript; 0 when it gets none."""
        return self.transcription_wait_ms if kind in TRANSCRIBED_KINDS else 0

    def window_ms_for(self, kind: MessageKind) -> int:
        """The quiet time after a message of this kind (its own window, or the general one)."""
        return self.window_ms_by_kind.get(kind, self.window_ms)
