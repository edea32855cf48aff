"""``/metrics`` and ``/healthz`` for the bot and each worker, on a port of their own.

A separate port from the webhook: the webhook faces the internet, metrics must not.
``/healthz`` answers 200 only when Redis answers PING, because without Redis neither
process can do its job; a container healthcheck or a load balancer reads it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from shared import metrics
from shared.keys import DEAD_LETTERS_INDEX, PENDING_INDEX
from shared.settings import ConfigError

log = logging.getLogger("batchbot.ops")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

REDIS_CHECK_TIMEOUT_SECONDS = 2.0


def describe(error: BaseException, timeout_seconds: float) -> str:
    """An error as a reader needs it; a bare timeout says how long was waited."""
    if isinstance(error, TimeoutError) and not str(error):
        return f"no answer within {timeout_seconds:g}s"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


class OpsServer:
    """A small aiohttp server; start it after the process has a Redis client."""

    def __init__(
        self,
        redis: Redis,
        host: str,
        port: int,
        port_setting: str,
        routes: Sequence[tuple[str, str, Handler]] = (),
    ) -> None:
        self.routes = routes
        self.redis = redis
        self.host = host
        self.port = port
        self.port_setting = port_setting
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        for method, path, handler in self.routes:
            app.router.add_route(method, path, handler)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, self.host, self.port).start()
        except OSError as error:
            await self._runner.cleanup()
            raise ConfigError(
                f"batchbot cannot start: {self.port_setting} {self.port} is in use or not "
                f"allowed on {self.host} ({error.strerror}); choose another port, or 0 to "
                "turn metrics and health off"
            ) from None
        self.port = self._runner.addresses[0][1]
        log.info("metrics and health on http://%s:%d/metrics and /healthz", self.host, self.port)

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
