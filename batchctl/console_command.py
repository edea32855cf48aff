"""Running the console from the command line until Ctrl-C or SIGTERM."""

from __future__ import annotations

import logging
import sys

from redis.exceptions import RedisError

from batchctl.console import ConsoleSettings, is_loopback, serve
from batchctl.console_tenants import ConsoleTenants
from shared.logs import describe
from shared.redis_connection import redis_address, redis_client
from shared.settings import load_settings
from shared.stopping import until_stopped

DEFAULT_PORT = 8090


def page_url(host: str, port: int) -> str:
    """The address to open: an IPv6 host goes in brackets (``http://[::1]:8090/``)."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


async def run_console(host: str, port: int) -> int:
    """Serve until stopped; 1 with one line saying why when it cannot start."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings = load_settings(ConsoleSettings)
    try:
        tenants = ConsoleTenants.of_environment()
    except ValueError as error:  # TenantsFileError
        print("\n".join(f"batchctl console: {line}" for line in str(error).splitlines()),
              file=sys.stderr)  # fmt: skip
        return 1
    if not is_loopback(host) and settings.batchctl_console_token is None and not tenants.any:
        print(
            f"batchctl console: --host {host} serves people's messages beyond this machine; "
            "set BATCHCTL_CONSOLE_TOKEN (16 characters or more) so the page asks for it, "
            "or leave --host at 127.0.0.1",
            file=sys.stderr,
        )
        return 1
    redis = redis_client(settings)
    try:
        await redis.ping()
    except (RedisError, OSError) as error:
        print(
            f"batchctl console: REDIS_URL {redis_address(settings)} cannot be reached "
            f"({describe(error, 0)}); check the address and that Redis is running",
            file=sys.stderr,
        )
        await redis.aclose()
        return 1
    try:
        runner = await serve(settings, redis, host, port, tenants)
    except OSError as error:
        print(
            f"batchctl console: cannot listen on {host}:{port} ({error.strerror}); "
            "choose another with --port or --host",
            file=sys.stderr,
        )
        await redis.aclose()
        return 1
    bound = runner.addresses[0][1]
    mode = "replay and purge with the token" if settings.batchctl_console_token else "read-only"
    print(f"batchctl console: {page_url(host, bound)} ({mode}); Ctrl-C stops it", flush=True)
    try:
        await until_stopped()
    finally:
        await runner.cleanup()
        await redis.aclose()
    return 0
