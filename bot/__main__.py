"""``python -m bot``: the Telegram bot process (polling, or webhook when WEBHOOK_URL is set)."""

from __future__ import annotations

import asyncio

from bot.app import run
from bot.settings import BotSettings
from shared.logs import configure_logging
from shared.settings import load_settings


def main() -> None:
    settings = load_settings(BotSettings)
    configure_logging(settings)
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
