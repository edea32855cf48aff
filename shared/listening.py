"""Where the bot's webhook servers listen; a port it cannot have is a start-up error."""

from __future__ import annotations

from aiohttp import web

from shared.settings import ConfigError


async def listen(runner: web.AppRunner, host: str, port: int, port_setting: str) -> None:
    """Serve ``runner`` on host:port, or stop with one line naming the setting."""
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as error:
        await runner.cleanup()
        raise ConfigError(
            f"batchbot cannot start: {port_setting} {port} on {host} cannot be used "
            f"({error.strerror or error}); choose a free port or stop what holds it"
        ) from None
