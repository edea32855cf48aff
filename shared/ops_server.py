"""``/metrics`` and ``/healthz`` for the bot and each worker, on a port of their own.

A separate port from the webhook: the webhook faces the internet, metrics must not.
``/healthz`` answers 200 only when Redis answers PING, because without Redis neither
process can do its job; a container healthcheck or a load balancer reads it.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from shared import metrics
from shared.keys import DEAD_LETTERS_INDEX, PENDING_INDEX
from shared.logs import describe
from shared.settings import ConfigError

log = logging.getLogger("batchbot.ops")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

REDIS_CHECK_TIMEOUT_SECONDS = 2.0

PORT_RANGE = 10
"""A busy metrics port moves to the next free one of this many, so several workers on
one host all start with the same settings."""


def bind_ops_socket(host: str, port: int, port_setting: str) -> socket.socket:
    """A listening socket on the first free port of ``port`` … ``port + 9``.

    Bound before the process starts its work, so the port is known early (a worker's
    health key names it) and two processes starting together cannot both pick it.
    """
    problem = ""
    for candidate in range(port, min(port + PORT_RANGE, 65536)):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, candidate))
            sock.listen(128)
        except OSError as error:
            sock.close()
            problem = error.strerror or str(error)
            continue
        sock.setblocking(False)
        if candidate != port:
            log.info(
                "%s %d is in use; metrics and health on port %d", port_setting, port, candidate
            )
        return sock
    raise ConfigError(
        f"batchbot cannot start: {port_setting} {port} and the {PORT_RANGE - 1} ports after it "
        f"are in use or not allowed on {host} ({problem}); choose another port, or 0 to turn "
        "metrics and health off"
    )


class OpsServer:
    """A small aiohttp server on a socket from :func:`bind_ops_socket`."""

    def __init__(
        self,
        redis: Redis,
        sock: socket.socket,
        routes: Sequence[tuple[str, str, Handler]] = (),
        problems: Sequence[Callable[[], str | None]] = (),
    ) -> None:
        """``problems`` are more checks for /healthz (the bot's replicas), each saying
        what is wrong or None."""
        self.routes = routes
        self.problems = problems
        self.redis = redis
        self.sock = sock
        self._runner: web.AppRunner | None = None

    @property
    def port(self) -> int:
        port: int = self.sock.getsockname()[1]
        return port

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        for method, path, handler in self.routes:
            app.router.add_route(method, path, handler)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.SockSite(self._runner, self.sock).start()
        host = self.sock.getsockname()[0]
        log.info("metrics and health on http://%s:%d/metrics and /healthz", host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _redis_problem(self) -> str | None:
        try:
            async with asyncio.timeout(REDIS_CHECK_TIMEOUT_SECONDS):
                await self.redis.ping()
        except (RedisError, OSError, TimeoutError) as error:
            return f"redis unreachable: {describe(error, REDIS_CHECK_TIMEOUT_SECONDS)}"
        return None

    async def _healthz(self, request: web.Request) -> web.Response:
        problem = await self._redis_problem()
        for check in self.problems:
            problem = problem or check()
        if problem is not None:
            return web.json_response({"status": "unhealthy", "problem": problem}, status=503)
        return web.json_response({"status": "ok"})

    async def _metrics(self, request: web.Request) -> web.Response:
        await self._refresh_gauges()
        body = generate_latest()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _refresh_gauges(self) -> None:
        """Counts that live in Redis; left as they were when Redis does not answer."""
        try:
            async with asyncio.timeout(REDIS_CHECK_TIMEOUT_SECONDS):
                async with self.redis.pipeline(transaction=False) as pipe:
                    pipe.zcard(PENDING_INDEX)
                    pipe.zcard(DEAD_LETTERS_INDEX)
                    pending, dead = await pipe.execute()
        except (RedisError, OSError, TimeoutError) as error:
            log.warning(
                "metrics: could not read counts from Redis: %s",
                describe(error, REDIS_CHECK_TIMEOUT_SECONDS),
            )
            return
        metrics.PENDING_CONVERSATIONS.set(pending)
        metrics.DEAD_LETTERS_STORED.set(dead)
