"""Running until Ctrl-C or SIGTERM (what ``docker compose stop`` sends), for every
long-running process: the bot, the console, the browser demo."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from typing import NoReturn

_STOPS: dict[asyncio.AbstractEventLoop, asyncio.Event] = {}


def stop_on_signals() -> asyncio.Event:
    """An event set by the first SIGINT or SIGTERM; the caller then shuts down in order.
    One event per event loop, shared by every caller: a loop has one handler per signal,
    and several receivers (a bot per tenant) must all hear it."""
    loop = asyncio.get_running_loop()
    stop = _STOPS.get(loop)
    if stop is None or loop.is_closed():
        stop = _STOPS[loop] = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    return stop


async def until_stopped() -> None:
    await stop_on_signals().wait()


def exit_at_once(code: int = 0) -> NoReturn:
    """End a stopped process without the interpreter's teardown of every imported module
    (about 0.7 s with aiogram, ARQ and pydantic loaded, a third of the 2 s a stop may take
    past its grace). Logs and output are flushed first; nothing else is left to finish."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
