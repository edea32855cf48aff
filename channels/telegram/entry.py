"""Telegram in the channel registry."""

from __future__ import annotations

from redis.asyncio import Redis

from channels.base import ChannelSender
from channels.entry import ChannelEntry
from channels.telegram import business
from channels.telegram.bot import make_bot
from channels.telegram.conversations import business_connection_of, proactive_conversation
from channels.telegram.sender import TelegramSender
from channels.telegram.settings import TelegramSettings
from shared.models import BatchRequest, Business, BusinessOwner, Channel


def _sender(settings: TelegramSettings, typing_refresh_seconds: float) -> ChannelSender:
    bot = make_bot(settings, settings.telegram_timeout_seconds)
    return TelegramSender(bot, typing_refresh_seconds)


async def _prepare(redis: Redis, conversation: str, request: BatchRequest) -> BatchRequest | str:
    """A business chat is answered only through an enabled connection that may reply; the
    backend learns whose account it answers for."""
    connection_id = business_connection_of(conversation)
    if connection_id is None:
        return request
    connection = await business.load(redis, connection_id)
    if connection is None:
        return f"Telegram Business connection {connection_id} is unknown (no update of it)"
    if not connection.answers:
        return f"Telegram Business connection {connection_id} {connection.why_not}"
    owner = BusinessOwner(id=connection.owner_id, first_name=connection.owner_first_name)
    return request.model_copy(
        update={"business": Business(connection_id=connection_id, owner=owner)}
    )


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
    prepare=_prepare,
)
