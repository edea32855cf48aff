"""``python -m bot``: the Telegram bot process (polling, or webhook when WEBHOOK_URL is set)."""

from __future__ import annotations

import asyncio
import logging

from bot.app import run
from shared.settings import BotSettings, load_settings


def main() -> None:
    settings = load_settings(BotSettings)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
