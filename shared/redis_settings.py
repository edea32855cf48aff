"""Where Redis is: the connection settings every process and ``batchctl`` read."""

from __future__ import annotations

import re

from pydantic import Field, FilePath, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_SENTINELS_SHAPE = re.compile(r"\s*[^\s,:]+:\d+\s*(,\s*[^\s,:]+:\d+\s*)*")


class RedisConnectionSettings(BaseSettings):
    """Where Redis is: every process and the ``batchctl`` tool read these."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)

    redis_url: str = Field(
        default="redis://localhost:6379/0",
        pattern=r"^(redis|rediss|unix)://",
        description="redis://, rediss:// (TLS) or unix:// URL; may carry a user and password.",
    )
    redis_tls_ca_file: FilePath | None = Field(
        default=None,
        description="PEM file of the CA that signed Redis's certificate, for rediss:// "
        "with a private CA; unset: the system's trusted CAs.",
    )
    redis_key_ttl_seconds: int = Field(
        default=7 * 86400,
        ge=86400,
        description="Safety-net expiry of every batch key; never the timer.",
    )
    redis_sentinels: str | None = Field(
        default=None,
        description="Redis Sentinels as comma-separated host:port; REDIS_URL then gives only "
        "the database, user and password.",
    )
    redis_sentinel_master: str | None = Field(
        default=None, min_length=1, description="The service name the Sentinels monitor."
    )
    redis_wait_replicas: int = Field(
        default=0,
        ge=0,
        le=16,
        description="A message is acknowledged to Telegram only once this many replicas "
        "hold it (Redis WAIT), so a failover cannot lose it.",
    )

    @field_validator("redis_sentinels")
    @classmethod
    def _sentinels_are_host_port_pairs(cls, value: str | None) -> str | None:
        if value is not None and not _SENTINELS_SHAPE.fullmatch(value):
            raise ValueError(
                "expected the Sentinels as host:port, comma-separated, like "
                "sentinel-1:26379,sentinel-2:26379,sentinel-3:26379"
            )
        return value

    @property
    def sentinel_addresses(self) -> list[tuple[str, int]]:
        """REDIS_SENTINELS as (host, port) pairs; empty without Sentinel."""
        if not self.redis_sentinels:
            return []
        pairs = [entry.strip().rsplit(":", 1) for entry in self.redis_sentinels.split(",")]
        return [(host, int(port)) for host, port in pairs]

    @model_validator(mode="after")
    def _sentinels_need_a_master_name(self) -> RedisConnectionSettings:
        if bool(self.redis_sentinels) != bool(self.redis_sentinel_master):
            raise ValueError(
                "REDIS_SENTINELS and REDIS_SENTINEL_MASTER go together: set both to use "
                "Sentinel (the service name is in the Sentinels' configuration), or neither"
            )
        return self

    @model_validator(mode="after")
    def _ca_file_needs_tls(self) -> RedisConnectionSettings:
        if self.redis_tls_ca_file is not None and not self.redis_url.startswith("rediss://"):
            raise ValueError(
                "REDIS_TLS_CA_FILE is set but REDIS_URL does not start with rediss://; "
                "use rediss:// to connect with TLS, or unset REDIS_TLS_CA_FILE"
            )
        return self
