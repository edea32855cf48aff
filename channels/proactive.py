"""Queue messages the backend sends on its own, on any channel (the request is
:class:`shared.proactive.ProactiveRequest`; HTTP callers use ``POST /proactive``).

The messages are queued for the conversation's own job, which sends them after any reply
in progress: never in the middle of a multi-part answer.
"""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import Redis

from channels.registry import ChannelSettings, proactive_conversation
from channels.telegram.conversations import proactive_conversation as telegram_conversation
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
    """Telegram, the shortest way: queue messages for a chat; returns how they were
    scheduled (held until a human's pause ends, if one has the chat)."""
    request = ProactiveRequest(chat_id=chat_id, user_id=user_id, messages=list(messages))
    outbox = Outbox(redis, key_ttl_seconds)
    return await outbox.queue(telegram_conversation(request), request.messages)


async def queue(outbox: Outbox, settings: ChannelSettings, request: ProactiveRequest) -> Queued:
    """Any channel this deployment serves (NoRecipient saying what the request lacks)."""
    conversation = proactive_conversation(settings, request)
    return await outbox.queue(conversation, request.messages)
