"""Telegram's Bot API: :class:`TelegramAdapter` and what it is made of.

- :mod:`.intake`: a message's author and content (:func:`author_of`, :func:`normalise`);
- :mod:`.receiver`: aiogram's dispatcher (commands, batching, Telegram Business), fed by
  polling that confirms only stored updates, or by Telegram's webhook;
- :mod:`.conversations`: ``<user>`` in a private chat, ``<chat>:<user>`` in a group,
  ``biz:<connection>:<chat>`` in a business chat;
- :mod:`.connections`: Telegram Business connections as kept in Redis;
- :mod:`.bot`: :func:`make_bot` for TELEGRAM_API_URL;
- :mod:`.sender`: replies, typing and drafts, errors mapped onto :mod:`channels.outcomes`.
"""

from channels.telegram.adapter import TelegramAdapter
from channels.telegram.bot import make_bot
from channels.telegram.intake import BotIdentity, author_of, normalise
from channels.telegram.sender import TELEGRAM_LIMITS, TelegramSender
from channels.telegram.settings import TelegramSettings

__all__ = [
    "TELEGRAM_LIMITS",
    "BotIdentity",
    "TelegramAdapter",
    "TelegramSender",
    "TelegramSettings",
    "author_of",
    "make_bot",
    "normalise",
]
