"""Redis key names, in one place so RedisInsight, the scripts and the code agree.

Keys are ``<what>:<conversation>`` with plain JSON or numbers inside, so a person
browsing Redis sees ``batch:123`` (the pending messages of user 123) and can read it.
"""

from __future__ import annotations

from dataclasses import dataclass

PENDING_INDEX = "pending:deadlines"
"""Sorted set: conversation → when something must next happen to it (ms since epoch)."""

LEASES = "batch-leases"
"""Sorted set: conversation → when the lease of its running batch lapses (ms since epoch).
A worker renews it every few seconds; a lapsed one means the worker died or stalled."""

DEAD_LETTERS_INDEX = "dead-letters"
"""Sorted set: batch id → when it was dead-lettered (ms since epoch)."""


def conversation_id(chat_id: int, chat_type: str, user_id: int) -> str:
    """The user id in a private chat, ``<chat>:<user>`` in a group (one batch per person)."""
    if chat_type == "private":
        return str(user_id)
    return f"{chat_id}:{user_id}"


def chat_of_conversation(conversation: str) -> int:
    """The chat a conversation is in: the user's private chat, or the group before ':'."""
    return int(conversation.split(":", 1)[0])


def dead_letter_key(batch_id: str) -> str:
    return f"dead-letter:{batch_id}"


@dataclass(frozen=True, slots=True)
class ConversationKeys:
    """Every per-conversation key; each gets the safety TTL and is removed when done."""

    conversation: str

    @property
    def batch(self) -> str:
        """List of pending messages (JSON), in Telegram message-id order."""
        return f"batch:{self.conversation}"

    @property
    def info(self) -> str:
        """Hash: first_at, deadline (ms), and the latest chat and user JSON."""
        return f"batch-info:{self.conversation}"

    @property
    def seen(self) -> str:
        """Sorted set of recently stored message ids, to drop redelivered updates."""
        return f"seen:{self.conversation}"

    @property
    def outbox(self) -> str:
        """List of messages the backend sent on its own (JSON), waiting for delivery."""
        return f"outbox:{self.conversation}"

    @property
    def outbox_progress(self) -> str:
        """Parts of the outbox's first message already sent (it may be several parts)."""
        return f"outbox-sent:{self.conversation}"

    @property
    def inflight(self) -> str:
        """Hash of the claimed batch: batch_id, messages, the stored answer, parts sent."""
        return f"inflight:{self.conversation}"
