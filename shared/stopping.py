"""Running until Ctrl-C or SIGTERM (what ``docker compose stop`` sends), for every
long-running process: the bot, the console, the browser demo."""

from __future__ import annotations

import asyncio
import signal


def stop_on_signals() -> asyncio.Event:
    """An event set by the first SIGINT or SIGTERM; the caller then shuts down in order."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def until_stopped() -> None:
    await stop_on_signals().wait()
