"""An answer growing in a Telegram chat that has no drafts (a Business chat, a group): one
message sent at its first piece, then ``editMessageText`` as it grows."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramNetworkError

from channels.outcomes import Refused
from channels.telegram.conversations import TelegramChat
from channels.telegram.errors import outcomes, replying
from shared.models import MessageId

log = logging.getLogger("batchbot.telegram")

GROUP_EDIT_SECONDS = 3.0
"""Telegram asks bots to send a group no more than 20 messages a minute."""

CHAT_EDIT_SECONDS = 1.0
"""...and a single chat no more than about one a second."""


class TelegramEdits:
    """One chat's growing messages (see :class:`channels.base.MessageEdits`)."""

    def __init__(self, bot: Bot, chat: TelegramChat) -> None:
        self.bot, self.chat = bot, chat
        self.interval_seconds = GROUP_EDIT_SECONDS if chat.chat_id < 0 else CHAT_EDIT_SECONDS

    async def send(self, text: str, reply_to: MessageId | None) -> MessageId:
        with outcomes():
            sent = await self.bot.send_message(
                self.chat.chat_id,
                text,
                parse_mode=None,
                reply_parameters=replying(reply_to),
                business_connection_id=self.chat.business_connection_id,
            )
        return sent.message_id

    async def edit(self, message_id: MessageId, text: str, parse_mode: str | None) -> None:
        """The backend's formatting where Telegram takes it, plain where it refuses it."""
        try:
            await self._edit(message_id, text, parse_mode)
        except Refused as refused:
            if parse_mode is None or "can't parse entities" not in str(refused).lower():
                raise
            log.warning("chat %s: Telegram refused the %s markup; edited plain",
                        self.chat.chat_id, parse_mode)  # fmt: skip
            await self._edit(message_id, text, None)

    async def _edit(self, message_id: MessageId, text: str, parse_mode: str | None) -> None:
        try:
            with outcomes():
                await self.bot.edit_message_text(
                    text=text,
                    chat_id=self.chat.chat_id,
                    message_id=int(message_id),
                    parse_mode=parse_mode,
                    business_connection_id=self.chat.business_connection_id,
                )
        except Refused as refused:
            cause = refused.__cause__
            if isinstance(cause, TelegramBadRequest) and "not modified" in cause.message:
                return  # it already shows this text
            raise

    async def delete(self, message_id: MessageId) -> None:
        try:
            if self.chat.business_connection_id is not None:
                await self.bot.delete_business_messages(
                    self.chat.business_connection_id, [int(message_id)]
                )
            else:
                await self.bot.delete_message(self.chat.chat_id, int(message_id))
        except (TelegramAPIError, TelegramNetworkError) as error:
            log.info("chat %s: grown message %s not deleted: %s",
                     self.chat.chat_id, message_id, error)  # fmt: skip
