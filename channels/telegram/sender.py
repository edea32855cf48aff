"""The Telegram side of delivery: one markup fallback for text and photos, the typing
indicator, drafts in private chats, and messages edited as they grow elsewhere
(:mod:`channels.telegram.edits`); errors as in :mod:`channels.telegram.errors`."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiogram import Bot
from aiogram.enums import ChatAction
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramNetworkError,
)
from aiogram.types import (
    InputRichBlockParagraph,
    InputRichBlockThinking,
    InputRichBlockUnion,
    InputRichMessage,
)
from aiohttp import ClientError

from channels.base import Limits, Recipient
from channels.media import Media, MediaUnavailable, too_large
from channels.telegram.bot import release_bot
from channels.telegram.conversations import decode
from channels.telegram.edits import TelegramEdits
from channels.telegram.errors import errors, outcomes, replying
from shared.models import Channel, IncomingMessage, MessageId

log = logging.getLogger("batchbot.telegram")


TELEGRAM_LIMITS = Limits(text=4096, caption=1024)


class TelegramSender:
    """Sends one reply part at a time to a Telegram chat (see :class:`ChannelSender`)."""

    channel = Channel.TELEGRAM
    limits = TELEGRAM_LIMITS

    def __init__(
        self,
        bot: Bot,
        typing_refresh_seconds: float = 4.0,
        can_stop: bool = True,
        keep_on_stop: bool = False,
    ) -> None:
        self.bot = bot
        self.typing_refresh_seconds = typing_refresh_seconds
        """Telegram shows 'typing…' for 5 s."""
        self.can_stop = can_stop
        """Drafts show a Stop button (DRAFT_CAN_STOP)."""
        self.keep_on_stop = keep_on_stop
        """What was written when Stop was pressed stays, sent as a message (DRAFT_KEEP_ON_STOP)."""

    async def send_text(
        self, to: Recipient, text: str, parse_mode: str | None, reply_to: MessageId | None
    ) -> None:
        chat = decode(to.conversation)

        async def send(mode: str | None) -> object:
            return await self.bot.send_message(
                chat.chat_id,
                text,
                parse_mode=mode,
                reply_parameters=replying(reply_to),
                business_connection_id=chat.business_connection_id,
            )

        with outcomes():
            await _plain_if_markup_refused(chat.chat_id, parse_mode, send)

    async def send_photo(
        self,
        to: Recipient,
        photo: str,
        caption: str | None,
        parse_mode: str | None,
        reply_to: MessageId | None,
    ) -> None:
        chat = decode(to.conversation)

        async def send(mode: str | None) -> object:
            return await self.bot.send_photo(
                chat.chat_id,
                photo,
                caption=caption,
                parse_mode=mode,
                reply_parameters=replying(reply_to),
                business_connection_id=chat.business_connection_id,
            )

        with outcomes():
            await _plain_if_markup_refused(chat.chat_id, parse_mode, send)

    async def show_typing(self, to: Recipient) -> None:
        """Best effort: a failed typing indicator must never hold up the answer."""
        chat = decode(to.conversation)
        try:
            await self.bot.send_chat_action(
                chat.chat_id, ChatAction.TYPING, business_connection_id=chat.business_connection_id
            )
        except (TelegramAPIError, TelegramNetworkError) as error:
            log.debug("typing indicator for chat %s failed: %s", chat.chat_id, error)

    def shows_drafts(self, to: Recipient) -> bool:
        """Drafts exist in the bot's own private chats only (sendMessageDraft takes no
        business connection)."""
        return decode(to.conversation).private

    async def show_draft(
        self, to: Recipient, draft_id: int, text: str, reasoning: str = ""
    ) -> bool:
        """``sendMessageDraft`` with the first 4,096 characters (the first part's worth);
        empty text shows Telegram's "Thinking…" placeholder. With reasoning,
        ``sendRichMessageDraft``: its last characters in a thinking block, the answer so
        far below it."""
        chat_id = decode(to.conversation).chat_id
        can_stop = self.can_stop or None
        keep_on_stop = (self.can_stop and self.keep_on_stop) or None
        try:
            if reasoning:
                rich = rich_draft(text[: self.limits.text], reasoning[-REASONING_SHOWN:])
                await self.bot.send_rich_message_draft(
                    chat_id, draft_id, rich, can_stop=can_stop, keep_on_stop=keep_on_stop
                )
            else:
                await self.bot.send_message_draft(
                    chat_id,
                    draft_id,
                    text=text[: self.limits.text],
                    parse_mode=None,
                    can_stop=can_stop,
                    keep_on_stop=keep_on_stop,
                )
        except (TelegramAPIError, TelegramNetworkError) as error:
            log.info("draft for chat %s refused: %s; 'typing…' instead", chat_id, error)
            return False
        return True

    def edits_for(self, to: Recipient) -> TelegramEdits | None:
        """Business chats and groups: a message edited as the answer grows."""
        chat = decode(to.conversation)
        return None if chat.private else TelegramEdits(self.bot, chat)

    async def fetch_media(self, message: IncomingMessage, max_bytes: int) -> Media:
        """getFile, then the download (whose URL holds the bot token: it stays here). The
        Bot API gives bots files up to 20 MB."""
        if message.file_id is None:
            raise MediaUnavailable("the message carries no file")
        try:
            file = await self.bot.get_file(message.file_id)
            if (file.file_size or 0) > max_bytes:
                raise too_large(file.file_size or 0, max_bytes)
            if file.file_path is None:
                raise MediaUnavailable("Telegram gave no path for the file")
            content = await self.bot.download_file(file.file_path)
        except TelegramBadRequest as error:
            raise MediaUnavailable(f"Telegram refused the file: {error.message}") from error
        except (TelegramAPIError, TelegramNetworkError, ClientError) as error:
            raise MediaUnavailable(f"Telegram unreachable for the file: {error}") from error
        if content is None:
            raise MediaUnavailable("Telegram sent no content for the file")
        data = content.read()
        if len(data) > max_bytes:
            raise too_large(len(data), max_bytes)
        return Media(data, message.mime_type)

    async def aclose(self) -> None:
        await release_bot(self.bot)


REASONING_SHOWN = 1000
"""Characters of the reasoning shown: what the model thinks now, not all it thought."""


def rich_draft(text: str, reasoning: str) -> InputRichMessage:
    """A thinking block with the reasoning, the answer so far (if any) below it."""
    blocks: list[InputRichBlockUnion] = [InputRichBlockThinking(text=reasoning)]
    if text:
        blocks.append(InputRichBlockParagraph(text=text))
    return InputRichMessage(blocks=blocks)


async def _plain_if_markup_refused(
    chat_id: int, parse_mode: str | None, send: Callable[[str | None], Awaitable[object]]
) -> None:
    """Send with the backend's formatting; if Telegram rejects the markup, send it plain.

    A backend's Markdown is easy to get wrong (an unclosed ``*``), and a split at 4,096
    characters can cut an entity in two; the words still reach the person.
    """
    try:
        await send(parse_mode)
    except TelegramBadRequest as error:
        if parse_mode is None or "can't parse entities" not in error.message.lower():
            raise
        errors("markup")
        log.warning("chat %s: Telegram refused the %s markup; sent plain", chat_id, parse_mode)
        await send(None)
