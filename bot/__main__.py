"""``python -m bot``: the bot process, serving every configured channel (Telegram by polling,
or by webhook when WEBHOOK_URL is set; WhatsApp's webhook)."""

from __future__ import annotations

import argparse
import asyncio
import gc

from bot.app import run
from bot.settings import BotSettings
from config.tenants import tenants_at_start
from config.worker import WorkerProcessSettings
from shared.logs import configure_logging
from shared.settings import load_settings
from shared.stopping import exit_at_once


def main() -> None:
    argparse.ArgumentParser(
        prog="python -m bot",
        description="The bot process: stores every configured channel's messages in Redis "
        "for the workers. Telegram with BOT_TOKEN (polling, or a webhook with WEBHOOK_URL), "
        "WhatsApp with WHATSAPP_ACCESS_TOKEN. Configured by environment variables only (the "
        "README lists them); stops cleanly on SIGINT or SIGTERM.",
    ).parse_args()
    settings = load_settings(BotSettings, also_check=[WorkerProcessSettings])
    tenants = tenants_at_start(settings)
    configure_logging(settings)
    # The imports leave about 200,000 long-lived objects (aiogram's models): frozen, a
    # full collection no longer walks them (130 ms of pause each time, measured).
    gc.collect()
    gc.freeze()
    asyncio.run(run(settings, tenants))
    exit_at_once()  # stopped: skip the interpreter's slow teardown


if __name__ == "__main__":
    main()
