"""What a channel tells the rest of batchbot about itself: one :class:`ChannelEntry` in
each channel's folder, listed once in :mod:`channels.registry`.

The bot's start-up, the workers' senders, settings validation, proactive messages,
``batchctl`` and the console read these instead of branching on each channel.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic_settings import BaseSettings
from redis.asyncio import Redis

from channels.base import ChannelSender, WebhookIntake
from shared.models import BatchRequest, Channel
from shared.proactive import Addressee

S = TypeVar("S", bound=BaseSettings)


class NoRecipient(ValueError):
    """A proactive request that does not name a person on its channel; says what is missing."""


@dataclass(frozen=True, slots=True)
class ChannelEntry(Generic[S]):
    """One channel: its settings, whether a deployment has it, and how to reach it."""

    channel: Channel
    title: str
    credential: str
    """The setting whose value turns the channel on, e.g. BOT_TOKEN."""
    settings: type[S]
    """The channel's own settings, part of every process's (``channels.registry``)."""
    configured: Callable[[S], bool]
    make_sender: Callable[[S, float], ChannelSender]
    """(settings, the typing refresh the worker wants) to the workers' sender."""
    send_timeout_seconds: Callable[[S], float]
    """The longest wait for one send: a batch's job must outlast a backend call plus this."""
    intake_problem: Callable[[S], str | None]
    """What the bot still needs to receive on this channel (None: nothing)."""
    proactive_conversation: Callable[[S, Addressee], str]
    """A proactive request's fields to the conversation its messages join (NoRecipient)."""
    prepare: Callable[[Redis, str, BatchRequest], Awaitable[BatchRequest | str]] | None = None
    """Just before the backend is asked: the request as it goes (with what only the channel
    knows added), or why this conversation is not to be answered now."""
    webhook: Callable[[S], WebhookIntake] | None = None
    """Channels Meta delivers to: the intake served at ``/webhook/<channel>`` on the Meta
    listener. None for Telegram, whose dispatcher lives in the bot."""
