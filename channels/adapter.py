"""One channel, one object: :class:`ChannelAdapter`, built from the settings of the
account it serves, is everything the rest of batchbot may ask of a channel.

Each channel's folder holds one subclass (``channels/<name>/adapter.py``) and the
registry (:mod:`channels.registry`) lists the classes. The bot asks an adapter how its
deliveries are received (a webhook on the Meta listener, or a receiver of its own), the
workers ask it for a sender and whether a conversation may be answered now, the
operator's tools ask it to turn a request's addressee into a conversation id. Nothing
outside a channel's folder knows its ids, its settings or its platform's API.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar

from pydantic_settings import BaseSettings
from redis.asyncio import Redis

from channels.base import ChannelSender, Intake, WebhookIntake
from shared.models import BatchRequest, Channel
from shared.proactive import Addressee

S = TypeVar("S")


class NoRecipient(ValueError):
    """A proactive request that does not name a person on its channel; says what is missing."""


class ChannelAdapter(ABC):
    """A channel for one deployment's account(s), from its settings.

    Class attributes say what the channel is before any is configured (the registry,
    settings validation, start-up errors); an instance exists only for a configured
    channel, holding the credentials it was built from, which never leave it.
    """

    channel: ClassVar[Channel]
    title: ClassVar[str]
    credential: ClassVar[str]
    """The setting whose value turns the channel on, e.g. BOT_TOKEN."""
    settings: ClassVar[type[BaseSettings]]
    """The channel's own settings, part of every process's (:mod:`channels.registry`)."""
    account_keys: ClassVar[Mapping[str, str]]
    """An account of a tenant in TENANTS_FILE: its keys, and the settings they set."""
    account_key: ClassVar[str]
    """The key that names the account; every account of the file has it."""
    account_shared: ClassVar[frozenset[str]] = frozenset()
    """Account settings taken from the environment unless the account sets them (where
    the platform's API is); the others (credentials, webhooks) are each account's own."""

    @abstractmethod
    def __init__(self, settings: Any) -> None:
        """Built from the settings of a configured channel (:meth:`configured`)."""

    @classmethod
    @abstractmethod
    def configured(cls, settings: Any) -> bool:
        """Whether these settings turn the channel on."""

    @classmethod
    @abstractmethod
    def identity_in(cls, settings: Any) -> str | None:
        """The account these settings serve (a bot's id, a phone number id, an Instagram
        account, a Page); None when the settings do not say (a worker may not need to)."""

    @classmethod
    def owner_in(cls, settings: Any) -> str | None:
        """How the account's conversation ids name it (:meth:`owner_of`)."""
        return cls.identity_in(settings)

    @classmethod
    @abstractmethod
    def owner_of(cls, conversation: str) -> str | None:
        """The account a conversation of this channel is with, as :meth:`owner_in` names
        it: which of several accounts answers it. None: the environment's account."""

    @classmethod
    @abstractmethod
    def account_named(cls, addressee: Addressee) -> str | None:
        """The account a proactive or handoff request names (as :meth:`identity_in`)."""

    @classmethod
    def named(cls, settings: S) -> S:
        """These settings as a TENANTS_FILE account's, whose conversation ids name it."""
        return settings

    @classmethod
    def intake_problem(cls, settings: Any) -> str | None:
        """What the bot still needs to receive on this channel (None: nothing); checked
        with the settings, before an adapter is built."""
        return None

    # Conversation ids (:mod:`shared.keys`): each channel's ids are its own to read.

    @abstractmethod
    def conversation_for(self, addressee: Addressee) -> str:
        """A proactive or handoff request's addressee as the conversation id its messages
        join; NoRecipient saying what the request lacks."""

    @abstractmethod
    def account_of(self, conversation: str) -> str | None:
        """The business account a conversation of this channel is with (a number, an
        Instagram account, a Page, a Telegram Business connection); None for the bot's
        own chats."""

    # Receiving: the bot calls one of these, by what the channel returns.

    def webhook(self) -> WebhookIntake | None:
        """Deliveries Meta posts to ``/webhook/<channel>`` on the one Meta listener,
        verified and parsed here; None for a channel that receives on its own."""
        return None

    async def receive(self, intake: Intake) -> None:  # noqa: B027 (optional, not abstract)
        """Receive until SIGINT/SIGTERM, handing everything to ``intake`` (a channel
        that is not delivered to by webhook, such as Telegram polling)."""

    @property
    def receives_on_its_own(self) -> bool:
        """Whether the bot must run :meth:`receive` (rather than serve :meth:`webhook`)."""
        return False

    # Sending (the workers).

    @abstractmethod
    def make_sender(self, typing_refresh_seconds: float) -> ChannelSender:
        """The workers' sender: replies, the answer's preview while it is written (typing,
        drafts), media fetched for a model; errors mapped onto :mod:`channels.outcomes`."""

    @property
    @abstractmethod
    def send_timeout_seconds(self) -> float:
        """The longest wait for one send: a batch's job must outlast a backend call plus this."""

    async def prepare(
        self, redis: Redis, conversation: str, request: BatchRequest
    ) -> BatchRequest | str:
        """Just before the backend is asked: the request as it goes (with what only the
        channel knows added), or why this conversation is not to be answered now."""
        return request
