"""Redis key names, in one place so RedisInsight, the scripts and the code agree.

Keys are ``<what>:<conversation>`` with plain JSON or numbers inside, so a person
browsing Redis sees ``batch:123`` (the pending messages of user 123) and can read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from shared.models import Channel

PENDING_INDEX = "pending:deadlines"
"""Sorted set: conversation → when something must next happen to it (ms since epoch)."""

LEASES = "batch-leases"
"""Sorted set: conversation → when the lease of its running batch lapses (ms since epoch).
A worker renews it every few seconds; a lapsed one means the worker died or stalled."""

HANDOFFS = "handoffs"
"""Sorted set: conversation → when its human takeover ends (ms since epoch), for the
console's list of paused conversations (entries past their end are stale)."""

ABANDONED_CHANNEL = "batches-abandoned"
"""Pub/sub channel: ``<conversation> <why>`` each time a claimed batch is abandoned
(superseded, or handed over to a human): its worker stops waiting for the backend."""

DEAD_LETTERS_INDEX = "dead-letters"
"""Sorted set: batch id → when it was dead-lettered (ms since epoch)."""

WORKERS = "workers"
"""Sorted set: worker (``<host>:<port or pid>``, as in its health key) → when it last said
it was alive (ms since epoch), so the console finds every worker without a SCAN."""

WORKER_STOPS = "worker-stops"
"""Hash: worker → when it stopped cleanly (ms since epoch), so the console tells a worker
that was stopped from one that died (its health key lapsed without a stop)."""

UNDELIVERED = "proactive-undelivered"
"""List: proactive messages that could not be delivered (JSON, newest first, the last
:data:`UNDELIVERED_KEPT`), for batchctl and the console: the caller got 202 long before."""
UNDELIVERED_KEPT = 200

MEDIA_QUEUE = "media-queue"
"""Sorted set of media to work on while the person writes (their ``media-item:`` keys):
voice notes to transcribe, photos to fetch ahead for a model that sees images. Scored by
when a worker may take each next: now when stored, a lease's end while one works on it,
a retry's time after a failure (see ``worker.transcribing``)."""

MEDIA_ITEM_PREFIX = "media-item:"
"""Hash per media item: its conversation, message id, message JSON and attempts so far;
``media-item:<conversation>:<message id>``."""

MEDIA_CACHE = "media-cache"
"""Sorted set of photos fetched ahead (``media-cache:<conversation>:<message id>|<bytes>``)
→ when each expires (ms): the cache's size, held under MEDIA_CACHE_MAX_BYTES."""

MEDIA_CACHE_PREFIX = "media-cache:"
"""A photo's bytes, fetched while the person was still writing; expires on its own."""

TENANTS_PARKED = "tenants-parked"
"""Set: tenants with jobs parked out of ARQ's queue (MAX_BATCHES_IN_FLIGHT), for the
workers' watch that puts them back when a slot frees."""


def tenant_running_key(tenant: str) -> str:
    """Sorted set: the tenant's batch jobs being run (job id → when its lock lapses, ms),
    counted against its MAX_BATCHES_IN_FLIGHT."""
    return f"tenant-running:{tenant}"


def tenant_parked_key(tenant: str) -> str:
    """Sorted set: the tenant's due jobs waiting for a slot (job id → its run time, ms),
    out of ARQ's queue so the other tenants' due jobs are seen first."""
    return f"tenant-parked:{tenant}"


BUSINESS_CONNECTION_PREFIX = "business-connection:"
"""Hash per Telegram Business connection (``business-connection:<id>``): whose it is and
whether the bot may answer through it, as its last ``business_connection`` update said."""


def business_connection_key(connection_id: str) -> str:
    return f"{BUSINESS_CONNECTION_PREFIX}{connection_id}"


ANSWERS_WINDOW_MS = 3_600_000
"""``answers:<conversation>`` counts the last hour's answers (ANSWERS_PER_HOUR_MAX)."""

STATS_PREFIX = "stats:"
STATS_FIELDS = ("messages_in", "answered", "dead_letters", "retries", "refused")
"""Counted per UTC minute by the Lua scripts (``lua/lib.lua``): the console's rates."""


def stats_key(at_ms: int) -> str:
    """Hash of one UTC minute's counts, e.g. ``stats:2026-11-23T0305Z``."""
    minute = datetime.fromtimestamp(at_ms // 1000, UTC)
    return f"{STATS_PREFIX}{minute:%Y-%m-%dT%H%MZ}"


def channel_of(conversation: str) -> Channel:
    """The channel a conversation is on, by its id's prefix (each channel's
    ``conversations`` module writes and reads the rest of the id)."""
    for channel in _PREFIXED:
        if conversation.startswith(channel.conversation_prefix):
            return channel
    return _UNPREFIXED


_PREFIXED = [channel for channel in Channel if channel.conversation_prefix]
_UNPREFIXED = next(channel for channel in Channel if not channel.conversation_prefix)


def dead_letter_key(batch_id: str) -> str:
    return f"dead-letter:{batch_id}"


@dataclass(frozen=True, slots=True)
class ConversationKeys:
    """Every per-conversation key; each gets the safety TTL and is removed when done."""

    conversation: str

    @property
    def batch(self) -> str:
        """List of pending messages (JSON), in the order they were written."""
        return f"batch:{self.conversation}"

    @property
    def info(self) -> str:
        """Hash: the pending batch's first_at, deadline (ms), bytes, latest chat and user
        JSON; and ``seen``, the recent message ids (space separated) that drop
        redelivered updates, kept after the batch goes."""
        return f"batch-info:{self.conversation}"

    @property
    def transcribing(self) -> str:
        """Sorted set: message ids of voice notes being transcribed → until when (ms) the
        pending batch waits for each (TRANSCRIBE_TIMEOUT_SECONDS)."""
        return f"transcribing:{self.conversation}"

    def media_item(self, message_id: str | int) -> str:
        return f"{MEDIA_ITEM_PREFIX}{self.conversation}:{message_id}"

    @property
    def outbox(self) -> str:
        """List of messages the backend sent on its own (JSON), waiting for delivery."""
        return f"outbox:{self.conversation}"

    @property
    def outbox_progress(self) -> str:
        """Parts of the outbox's first message already sent (it may be several parts)."""
        return f"outbox-sent:{self.conversation}"

    @property
    def history(self) -> str:
        """List of the conversation's last turns (JSON), for HISTORY_TURNS."""
        return f"history:{self.conversation}"

    @property
    def answers(self) -> str:
        """Sorted set: batch id → when it was answered (ms), the last hour's, for
        ANSWERS_PER_HOUR_MAX (release.lua adds, claim.lua counts)."""
        return f"answers:{self.conversation}"

    @property
    def answers_capped(self) -> str:
        """Set for an hour once ANSWERS_PER_HOUR_MAX stopped the conversation: its warning
        was logged."""
        return f"answers-capped:{self.conversation}"

    @property
    def handoff(self) -> str:
        """Hash while a human has the conversation: since, until (ms), source; it expires
        at ``until``, which ends the pause."""
        return f"handoff:{self.conversation}"

    @property
    def held(self) -> str:
        """List of what was written while a human had the conversation (message JSON, and
        the human's own turns), in order: shown, then remembered as history, never answered."""
        return f"held:{self.conversation}"

    @property
    def inflight(self) -> str:
        """Hash of the claimed batch: batch_id, messages, the stored answer, parts sent."""
        return f"inflight:{self.conversation}"
