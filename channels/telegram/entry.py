"""Telegram in the channel registry."""

from __future__ import annotations

from channels.base import ChannelSender
from channels.entry import ChannelEntry
from channels.telegram.bot import make_bot
from channels.telegram.conversations import proactive_conversation
from channels.telegram.sender import TelegramSender
from channels.telegram.settings import TelegramSettings
from shared.models import Channel


def _sender(settings: TelegramSettings, typing_refresh_seconds: float) -> ChannelSender:
    bot = make_bot(settings, settings.telegram_timeout_seconds)
    return TelegramSender(bot, typing_refresh_seconds)


TELEGRAM = ChannelEntry(
    channel=Channel.TELEGRAM,
    title="Telegram",
    credential="BOT_TOKEN",
    settings=TelegramSettings,
    configured=lambda settings: settings.bot_token is not None,
    make_sender=_sender,
    send_timeout_seconds=lambda settings: settings.telegram_timeout_seconds,
    intake_problem=lambda settings: None,
    proactive_conversation=lambda settings, request: proactive_conversation(request),
)
