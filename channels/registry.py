"""Every channel batchbot serves, in one place: adding a channel is its folder, one line in
:data:`CHANNELS` and its settings class among :class:`ChannelSettings`'s bases.

Everything else (the bot's start-up, the workers' senders, settings validation,
proactive messages, ``batchctl`` and the console) iterates over these.
"""

from __future__ import annotations

from typing import Any

from pydantic import model_validator

from channels.entry import ChannelEntry, NoRecipient
from channels.instagram import INSTAGRAM, InstagramSettings
from channels.messenger import MESSENGER, MessengerSettings
from channels.meta.settings import MetaAppSettings
from channels.telegram import TELEGRAM, TelegramSettings
from channels.whatsapp import WHATSAPP, WhatsAppSettings
from shared.models import Channel
from shared.proactive import Addressee
from shared.redis_settings import RedisConnectionSettings

CHANNELS: tuple[ChannelEntry[Any], ...] = (TELEGRAM, WHATSAPP, INSTAGRAM, MESSENGER)
_BY_CHANNEL = {entry.channel: entry for entry in CHANNELS}


def entry_of(channel: Channel) -> ChannelEntry[Any]:
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
    credential is set, and at least one must be."""

    @model_validator(mode="after")
    def _at_least_one_channel(self) -> ChannelSettings:
        if not self.channels:
            names = ", ".join(f"{entry.credential} for {entry.title}" for entry in CHANNELS)
            raise ValueError(f"no channel is configured: set {names}, or several")
        return self

    @property
    def channels(self) -> list[Channel]:
        """The channels this deployment serves, in the registry's order."""
        return [entry.channel for entry in self.configured_entries]

    @property
    def configured_entries(self) -> list[ChannelEntry[Any]]:
        return [entry for entry in CHANNELS if entry.configured(self)]


def proactive_conversation(settings: ChannelSettings, request: Addressee) -> str:
    """The conversation a proactive request's messages join; NoRecipient saying what is
    missing, or that the channel is not served here."""
    entry = entry_of(request.channel)
    if not entry.configured(settings):
        raise NoRecipient(
            f"{request.channel.value} is not a channel this bot serves (set {entry.credential})"
        )
    return entry.proactive_conversation(settings, request)
