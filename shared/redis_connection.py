"""One way to connect to Redis from settings: TLS options for every client, and fast
command packing for the bot's hot path."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import hiredis
from redis.asyncio import Redis
from redis.asyncio.connection import Connection, SSLConnection
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import (
    Sentinel,
    SentinelManagedConnection,
    SentinelManagedSSLConnection,
)
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from shared.logs import describe
from shared.settings import ConfigError, RedisConnectionSettings

log = logging.getLogger("batchbot.redis")

PING_TIMEOUT_SECONDS = 2.0


class _HiredisPacking:
    """Packs commands with hiredis's C packer instead of redis-py's Python one.

    redis-py's asyncio connections pack each argument in Python: about 40 µs for the
    append script's 27 arguments, the largest cost of storing a message on the bot's
    side. hiredis produces the same bytes in about 6 µs. Anything it cannot pack
    goes to redis-py's packer, which raises redis-py's usual errors.
    """

    def pack_command(self, *args: Any) -> list[bytes]:
        command = args[0]
        if isinstance(command, str) and " " in command:  # "SCRIPT LOAD", "CLIENT SETNAME"
            args = (*command.split(), *args[1:])
        try:
            return [hiredis.pack_command(args)]
        except (TypeError, ValueError, UnicodeEncodeError):
            packed: list[bytes] = super().pack_command(*args)  # type: ignore[misc]
            return packed


class FastConnection(_HiredisPacking, Connection):
    """A plain TCP connection with C packing."""


class FastSSLConnection(_HiredisPacking, SSLConnection):
    """A TLS connection with C packing."""


class _AskTheSentinelsEachTry:
    """A Sentinel-managed connection that tries each address the Sentinels give once.

    redis-py connects to the address it was given with the connection's whole retry
    budget before asking the Sentinels again, so with the outage retry a client would
    knock on a dead primary's door for REDIS_OUTAGE_TOLERANCE_SECONDS while the
    Sentinels already name its successor. Here the budget is spent by the outer loop,
    which asks the Sentinels before every attempt.
    """

    retry: Retry

    async def connect_to(self, address: tuple[str, int]) -> None:
        budget = self.retry
        self.retry = Retry(NoBackoff(), 0)
        try:
            await super().connect_to(address)  # type: ignore[misc]
        finally:
            self.retry = budget


class FailoverConnection(_AskTheSentinelsEachTry, SentinelManagedConnection):
    pass


class FailoverSSLConnection(_AskTheSentinelsEachTry, SentinelManagedSSLConnection):
    pass


def use_failover_connections(client: Redis, options: dict[str, Any]) -> None:
    """Give a Sentinel client's pool ``options`` (the outage retry) and the connection
    class above, dropping the connections it made before (which keep their own options:
    ARQ pings Redis before the worker's start-up can set them)."""
    pool = client.connection_pool
    tls = issubclass(pool.connection_class, SentinelManagedSSLConnection)
    pool.connection_class = FailoverSSLConnection if tls else FailoverConnection
    pool.connection_kwargs.update(options)
    pool.reset()  # type: ignore[no-untyped-call]


def tls_options(settings: RedisConnectionSettings) -> dict[str, Any]:
    """For ``rediss://``: check the server's host name (redis-py does not by default) and
    trust REDIS_TLS_CA_FILE if set. Nothing for plain connections."""
    if not settings.redis_url.startswith("rediss://"):
        return {}
    options: dict[str, Any] = {"ssl_check_hostname": True}
    if settings.redis_tls_ca_file is not None:
        options["ssl_ca_certs"] = str(settings.redis_tls_ca_file)
    return options


def use_c_packing(client: Redis) -> None:
    """Make the client's future connections pack commands with hiredis.

    ``from_url`` and ARQ's ``create_pool`` pick the connection class from the URL;
    this swaps in the same class with C packing. Connections already open keep theirs.
    """
    pool = client.connection_pool
    if pool.connection_class is Connection:
        pool.connection_class = FastConnection
    elif pool.connection_class is SSLConnection:
        pool.connection_class = FastSSLConnection


def redis_client(settings: RedisConnectionSettings) -> Redis:
    """A client for REDIS_URL, or for the master the Sentinels name (REDIS_SENTINELS)."""
    if settings.sentinel_addresses:
        return sentinel_master(settings)
    client: Redis = Redis.from_url(settings.redis_url, **tls_options(settings))
    use_c_packing(client)
    return client


def sentinel_master(
    settings: RedisConnectionSettings, redis_class: type[Redis] = Redis, **options: Any
) -> Redis:
    """A client that asks the Sentinels where the master is, and asks again after a
    failover (its connections to a demoted master fail, and are made anew)."""
    parts = urlsplit(settings.redis_url)
    tls = tls_options(settings)
    if tls:
        tls["ssl"] = True
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        settings.sentinel_addresses, sentinel_kwargs={"socket_timeout": PING_TIMEOUT_SECONDS}
    )
    client: Redis = sentinel.master_for(
        settings.redis_sentinel_master or "",
        redis_class=redis_class,
        connection_class=FailoverSSLConnection if tls else FailoverConnection,
        db=int(parts.path.strip("/") or 0),
        username=parts.username,
        password=parts.password,
        **tls,
        **options,
    )
    return client


def outage_retry(tolerance_seconds: float) -> dict[str, Any]:
    """Connection options that make every command wait out an outage (a restart, a
    failover) of up to ``tolerance_seconds``, retrying with back-off capped at 2 s.

    OSError too: a refused connect surfaces as the builtin ConnectionRefusedError,
    which redis-py retries only when told to.
    """
    cap = 2.0
    return {
        "retry": Retry(
            ExponentialBackoff(cap=cap, base=0.05),
            retries=math.ceil(tolerance_seconds / cap) + 5,
        ),
        "retry_on_error": [RedisConnectionError, RedisTimeoutError, OSError],
    }


def redis_address(settings: RedisConnectionSettings) -> str:
    """Where REDIS_URL points, fit for a log line: the password cut out."""
    parts = urlsplit(settings.redis_url)
    if parts.password is None:
        return settings.redis_url
    user = f"{parts.username}@" if parts.username else ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit((parts.scheme, f"{user}{host}{port}", parts.path, parts.query, ""))


async def wait_for_redis(
    client: Redis, settings: RedisConnectionSettings, give_up_after_seconds: float | None
) -> None:
    """Return once Redis answers PING. Says once, in one line, that it is waiting and for
    what; raises ConfigError (one line, exit code 1) after ``give_up_after_seconds``."""
    started = time.monotonic()
    delay = 0.2
    told = False
    while True:
        try:
            async with asyncio.timeout(PING_TIMEOUT_SECONDS):
                await client.ping()
        except (RedisError, OSError, TimeoutError) as error:
            problem = describe(error, PING_TIMEOUT_SECONDS)
            waited = time.monotonic() - started
            if give_up_after_seconds is not None and waited + delay > give_up_after_seconds:
                raise ConfigError(
                    f"batchbot cannot start: REDIS_URL {redis_address(settings)} cannot be "
                    f"reached ({problem}) after {waited:.0f}s; check the address and that "
                    "Redis is running"
                ) from None
            if not told:
                log.warning(
                    "REDIS_URL %s cannot be reached (%s); waiting for it",
                    redis_address(settings),
                    problem,
                )
                told = True
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
            continue
        if told:
            log.info("REDIS_URL %s answers again", redis_address(settings))
        return
