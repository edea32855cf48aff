"""Telegram for one bot token: private chats, groups and Telegram Business chats, received
by polling or by Telegram's webhook (:mod:`.receiver`), answered through the Bot API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, TypeVar

from redis.asyncio import Redis

from channels.adapter import ChannelAdapter
from channels.base import ChannelSender, Intake
from channels.telegram import connections
from channels.telegram.bot import sending_bot
from channels.telegram.conversations import (
    bot_of,
    bot_prefix,
    decode,
    proactive_conversation,
    receiving_for,
)
from channels.telegram.receiver.dispatcher import run_telegram
from channels.telegram.sender import TelegramSender
from channels.telegram.settings import TelegramSettings
from shared.models import BatchRequest, Business, BusinessOwner, Channel
from shared.proactive import Addressee

T = TypeVar("T")


class TelegramAdapter(ChannelAdapter):
    channel = Channel.TELEGRAM
    title = "Telegram"
    credential = "BOT_TOKEN"
    settings = TelegramSettings
    account_keys: ClassVar[Mapping[str, str]] = {
        "bot_token": "bot_token",
        "api_url": "telegram_api_url",
        "webhook_url": "webhook_url",
        "webhook_secret": "webhook_secret",
        "webhook_listen_port": "webhook_listen_port",
    }
    account_key = "bot_token"
    account_shared = frozenset({"telegram_api_url"})

    @classmethod
    def configured(cls, settings: TelegramSettings) -> bool:
        return settings.bot_token is not None

    @classmethod
    def identity_in(cls, settings: TelegramSettings) -> str | None:
        return settings.bot_id

    @classmethod
    def owner_in(cls, settings: TelegramSettings) -> str | None:
        return settings.bot_id if settings.ids_name_the_bot else None

    @classmethod
    def account_named(cls, addressee: Addressee) -> str | None:
        return addressee.bot_id

    @classmethod
    def owner_of(cls, conversation: str) -> str | None:
        return bot_of(conversation)

    @classmethod
    def named(cls, settings: T) -> T:
        assert isinstance(settings, TelegramSettings)
        named: T = settings.naming_the_bot()  # type: ignore[assignment]
        return named

    def __init__(self, settings: TelegramSettings) -> None:
        assert settings.bot_token is not None, f"{self.credential} is needed"
        self._settings = settings

    def conversation_for(self, addressee: Addressee) -> str:
        return proactive_conversation(addressee, bot_prefix(self.owner_in(self._settings)))

    def account_of(self, conversation: str) -> str | None:
        return decode(conversation).business_connection_id

    @property
    def receives_on_its_own(self) -> bool:
        return True

    async def receive(self, intake: Intake) -> None:
        receiving_for(self.owner_in(self._settings))
        await run_telegram(self._settings, intake)

    def make_sender(self, typing_refresh_seconds: float) -> ChannelSender:
        bot = sending_bot(self._settings, self._settings.telegram_timeout_seconds)
        settings = self._settings
        return TelegramSender(
            bot, typing_refresh_seconds, settings.draft_can_stop, settings.draft_keep_on_stop
        )

    @property
    def send_timeout_seconds(self) -> float:
        return self._settings.telegram_timeout_seconds

    async def prepare(
        self, redis: Redis, conversation: str, request: BatchRequest
    ) -> BatchRequest | str:
        """A business chat is answered only through an enabled connection that may reply;
        the backend learns whose account it answers for."""
        connection_id = decode(conversation).business_connection_id
        if connection_id is None:
            return request
        connection = await connections.load(redis, connection_id)
        if connection is None:
            return f"Telegram Business connection {connection_id} is unknown (no update of it)"
        if not connection.answers:
            return f"Telegram Business connection {connection_id} {connection.why_not}"
        owner = BusinessOwner(id=connection.owner_id, first_name=connection.owner_first_name)
        return request.model_copy(
            update={"business": Business(connection_id=connection_id, owner=owner)}
        )
