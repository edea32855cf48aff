"""Telegram's conversation ids: the person's user id in a private chat, ``<chat>:<user>``
in a group (one batch per person), ``biz:<connection id>:<chat>`` for a customer's chat
with a Telegram Business account the bot is connected to. No channel prefix: Telegram
was there first, and its keys stay as they were.

The bots of TENANTS_FILE name themselves: ``tg:<bot id>:`` goes in front, so one chat
with two bots is two conversations, and RedisInsight shows whose a key is. The
environment's BOT_TOKEN keeps the bare ids, so adding bots never renames a key of the
bot that was there first. The receiver of each bot says which bot it receives for
(:func:`receiving_for`), once, for the task that runs its handlers; ids are written by
:func:`conversation_id` and :func:`business_conversation_id`, read by :func:`decode`
only."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from channels.adapter import NoRecipient
from shared.proactive import Addressee

BUSINESS_PREFIX = "biz:"
BOT_PREFIX = "tg:"

_receiving_bot: ContextVar[str] = ContextVar("telegram_bot_prefix", default="")


def bot_prefix(bot_id: str | None) -> str:
    """What a bot's conversation ids start with: ``tg:<bot id>:``, or nothing for the
    environment's bot (None)."""
    return f"{BOT_PREFIX}{bot_id}:" if bot_id is not None else ""


def receiving_for(bot_id: str | None) -> None:
    """The current task (a bot's receiver, and the handlers it starts) receives for this
    bot: the ids it writes name it."""
    _receiving_bot.set(bot_prefix(bot_id))


@dataclass(frozen=True, slots=True)
class TelegramChat:
    """Where a conversation's answers go."""

    chat_id: int
    bot_id: str | None
    """The TENANTS_FILE bot the conversation is with; None: the environment's bot."""
    business_connection_id: str | None
    """The Telegram Business connection the chat is answered through; None: the bot's own."""
    private: bool
    """The bot's own private chat with the person (not a group, not a business chat)."""


def conversation_id(chat_id: int, chat_type: str, user_id: int, prefix: str | None = None) -> str:
    """``prefix``: the bot's (:func:`bot_prefix`); by default the receiving bot's."""
    bot = _receiving_bot.get() if prefix is None else prefix
    if chat_type == "private":
        return f"{bot}{user_id}"
    return f"{bot}{chat_id}:{user_id}"


def business_conversation_id(connection_id: str, chat_id: int) -> str:
    return f"{_receiving_bot.get()}{BUSINESS_PREFIX}{connection_id}:{chat_id}"


def bot_of(conversation: str) -> str | None:
    """The TENANTS_FILE bot a conversation is with; None for the environment's bot."""
    if not conversation.startswith(BOT_PREFIX):
        return None
    return conversation.removeprefix(BOT_PREFIX).partition(":")[0]


def decode(conversation: str) -> TelegramChat:
    """The chat of any Telegram conversation id."""
    bot_id = bot_of(conversation)
    if bot_id is not None:
        conversation = conversation.removeprefix(bot_prefix(bot_id))
    if conversation.startswith(BUSINESS_PREFIX):
        connection_id, _, chat = conversation.removeprefix(BUSINESS_PREFIX).rpartition(":")
        return TelegramChat(int(chat), bot_id, connection_id, private=False)
    chat, _, user = conversation.partition(":")
    return TelegramChat(int(chat), bot_id, None, private=not user)


def proactive_conversation(request: Addressee, prefix: str = "") -> str:
    """A proactive request's chat_id (and user_id in a group) as its conversation."""
    if request.chat_id is None:
        raise NoRecipient("a Telegram message needs chat_id (or name another channel)")
    private = request.user_id is None or request.user_id == request.chat_id
    if private and request.chat_id < 0:
        raise NoRecipient("a group chat (negative chat_id) needs user_id")
    user_id = request.chat_id if request.user_id is None else request.user_id
    chat_type = "private" if private else "group"
    return conversation_id(request.chat_id, chat_type, user_id, prefix)
