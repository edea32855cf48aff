"""Telegram's Bot API: updates as the contract's messages (for the bot's dispatcher), the
client both processes use, and the workers' sender.

- :mod:`.intake`: a message's author and content (:func:`author_of`, :func:`normalise`);
- :mod:`.conversations`: ``<user>`` in a private chat, ``<chat>:<user>`` in a group;
- :mod:`.bot`: :func:`make_bot` for TELEGRAM_API_URL;
- :mod:`.sender`: replies, typing and drafts, errors mapped onto :mod:`channels.outcomes`.
"""

from channels.telegram.bot import make_bot
from channels.telegram.entry import TELEGRAM
from channels.telegram.intake import BotIdentity, author_of, normalise
from channels.telegram.sender import TELEGRAM_LIMITS, TelegramSender
from channels.telegram.settings import TelegramSettings

__all__ = [
    "TELEGRAM",
    "TELEGRAM_LIMITS",
    "BotIdentity",
    "TelegramSender",
    "TelegramSettings",
    "author_of",
    "make_bot",
    "normalise",
]
