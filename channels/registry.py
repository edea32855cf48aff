"""Every channel batchbot serves, in one place: adding a channel is its folder (an adapter
class, :class:`channels.adapter.ChannelAdapter`), one line in :data:`ADAPTERS` and its
settings class among :class:`ChannelSettings`'s bases.

Everything else (the bot's start-up, the workers' senders, settings validation,
proactive messages, ``batchctl`` and the console) iterates over these.
"""

from __future__ import annotations

from pydantic import Field, FilePath, model_validator

from channels.adapter import ChannelAdapter, NoRecipient
from channels.instagram import InstagramAdapter, InstagramSettings
from channels.messenger import MessengerAdapter, MessengerSettings
from channels.meta.settings import MetaAppSettings
from channels.telegram import TelegramAdapter, TelegramSettings
from channels.whatsapp import WhatsAppAdapter, WhatsAppSettings
from shared.models import Channel
from shared.proactive import Addressee
from shared.redis_settings import RedisConnectionSettings

ADAPTERS: tuple[type[ChannelAdapter], ...] = (
    TelegramAdapter,
    WhatsAppAdapter,
    InstagramAdapter,
    MessengerAdapter,
)
_BY_CHANNEL = {adapter.channel: adapter for adapter in ADAPTERS}


def adapter_class(channel: Channel) -> type[ChannelAdapter]:
    return _BY_CHANNEL[channel]


class ChannelSettings(
    TelegramSettings,
    WhatsAppSettings,
    InstagramSettings,
    MessengerSettings,
    MetaAppSettings,
    RedisConnectionSettings,
):
    """Every channel's settings, read by every process; a channel is on when its
    credential is set, and at least one must be (here, or in TENANTS_FILE)."""

    tenants_file: FilePath | None = Field(
        default=None,
        description="A TOML file of tenants, each with its own channel accounts, backend and "
        "rules, served beside the environment's own channels (README: Many businesses); "
        "read again when it changes.",
    )
    tenants_reload_seconds: float = Field(
        default=2.0,
        gt=0,
        le=3600,
        description="How often each process looks whether TENANTS_FILE changed.",
    )

    @model_validator(mode="after")
    def _at_least_one_channel(self) -> ChannelSettings:
        if not self.channels and self.tenants_file is None:
            names = ", ".join(f"{a.credential} for {a.title}" for a in ADAPTERS)
            raise ValueError(f"no channel is configured: set {names}, or several, or TENANTS_FILE")
        return self

    @property
    def channels(self) -> list[Channel]:
        """The channels this deployment serves, in the registry's order."""
        return [adapter.channel for adapter in self.configured_adapters]

    @property
    def configured_adapters(self) -> list[type[ChannelAdapter]]:
        return [adapter for adapter in ADAPTERS if adapter.configured(self)]


def adapters_of(settings: ChannelSettings) -> list[ChannelAdapter]:
    """An adapter for every configured channel, built from these settings."""
    return [adapter(settings) for adapter in settings.configured_adapters]


def adapter_of(settings: ChannelSettings, channel: Channel) -> ChannelAdapter:
    """The channel's adapter; NoRecipient when this deployment does not serve it."""
    adapter = adapter_class(channel)
    if not adapter.configured(settings):
        raise NoRecipient(
            f"{channel.value} is not a channel this bot serves (set {adapter.credential})"
        )
    return adapter(settings)


def proactive_conversation(settings: ChannelSettings, request: Addressee) -> str:
    """The conversation a proactive request's messages join; NoRecipient saying what is
    missing, or that the channel is not served here."""
    return adapter_of(settings, request.channel).conversation_for(request)
