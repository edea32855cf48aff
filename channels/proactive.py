"""Queue messages the backend sends on its own, on any channel (the request is
:class:`shared.proactive.ProactiveRequest`; HTTP callers use ``POST /proactive``;
Telegram's shortcut is :func:`channels.telegram.proactive.send_proactive`).

The messages are queued for the conversation's own job, which sends them after any reply
in progress: never in the middle of a multi-part answer.
"""

from __future__ import annotations

from channels.registry import ChannelSettings, proactive_conversation
from shared.outbox import Outbox, Queued
from shared.proactive import ProactiveRequest


async def queue(outbox: Outbox, settings: ChannelSettings, request: ProactiveRequest) -> Queued:
    """Any channel this deployment serves (NoRecipient saying what the request lacks)."""
    conversation = proactive_conversation(settings, request)
    return await outbox.queue(conversation, request.messages)
