"""The bot process's settings. They live in :mod:`config.bot` so that a worker can check
them too: one environment serves every process, and a value wrong for the bot stops a
worker at start-up as well (:func:`shared.settings.load_settings`)."""

from config.bot import BotSettings

__all__ = ["BotSettings"]
