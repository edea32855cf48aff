"""Telegram's shortcut of the Python API for messages the backend sends unasked: a chat id
is all it takes (any channel: :func:`channels.proactive.queue`)."""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import Redis

from channels.telegram.conversations import proactive_conversation
from shared.models import OutgoingMessage
from shared.outbox import Outbox, Queued
from shared.proactive import DEFAULT_KEY_TTL_SECONDS, ProactiveRequest


async def send_proactive(
    redis: Redis,
    chat_id: int,
    messages: Sequence[OutgoingMessage],
    *,
    user_id: int | None = None,
    key_ttl_seconds: int = DEFAULT_KEY_TTL_SECONDS,
) -> Queued:
    """Queue messages for a chat; returns how they were scheduled (held until a human's
    pause ends, if one has the chat)."""
    request = ProactiveRequest(chat_id=chat_id, user_id=user_id, messages=list(messages))
    outbox = Outbox(redis, key_ttl_seconds)
    return await outbox.queue(proactive_conversation(request), request.messages)
