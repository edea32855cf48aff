"""``python -m bot.health``: the bot container's healthcheck, with the standard library only
(a check every 15 s must not import aiogram).

Asks the bot's own ``/healthz`` on BOT_METRICS_PORT (default 9100). With
BOT_METRICS_PORT=0 the endpoint is off, so there is nothing to ask: the check passes
rather than marking a running bot unhealthy forever.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

DEFAULT_PORT = "9100"
TIMEOUT_SECONDS = 4.0


def check() -> int:
    """0 when healthy (or when the health endpoint is turned off), 1 otherwise."""
    port = os.environ.get("BOT_METRICS_PORT", "").strip() or DEFAULT_PORT
    if port == "0":
        print("healthy: nothing to check (BOT_METRICS_PORT=0 turns /healthz off)")
        return 0
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as answer:
            print(f"healthy: {url} answered {answer.status}")
            return 0
    except urllib.error.HTTPError as error:
        print(f"unhealthy: {url} answered {error.code}: {error.read(300).decode(errors='replace')}")
    except (OSError, ValueError) as error:
        print(f"unhealthy: {url} did not answer ({error})")
    return 1


if __name__ == "__main__":
    sys.exit(check())
