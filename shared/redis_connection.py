"""One way to connect to Redis from settings, so TLS options apply to every client."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from shared.settings import RedisConnectionSettings


def tls_options(settings: RedisConnectionSettings) -> dict[str, Any]:
    """For ``rediss://``: check the server's host name (redis-py does not by default) and
    trust REDIS_TLS_CA_FILE if set. Nothing for plain connections."""
    if not settings.redis_url.startswith("rediss://"):
        return {}
    options: dict[str, Any] = {"ssl_check_hostname": True}
    if settings.redis_tls_ca_file is not None:
        options["ssl_ca_certs"] = str(settings.redis_tls_ca_file)
    return options


def redis_client(settings: RedisConnectionSettings) -> Redis:
    client: Redis = Redis.from_url(settings.redis_url, **tls_options(settings))
    return client
