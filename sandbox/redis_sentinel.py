"""A throwaway Redis Sentinel (``redis-server --sentinel``) watching a sandbox primary."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
from pathlib import Path

import redis

from sandbox.redis_server import RedisServer, free_port, redis_server_binary, until_it_answers

MASTER_NAME = "batchbot"
DOWN_AFTER_MS = 3000
FAILOVER_TIMEOUT_MS = 6000


class RedisSentinel:
    """One Sentinel; three of them agree (quorum 2) that the primary is down."""

    def __init__(self, primary_port: int, quorum: int = 2) -> None:
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="batchbot-sentinel-"))
        self.config = self.directory / "sentinel.conf"
        self.config.write_text(
            f"port {self.port}\n"
            "bind 127.0.0.1\n"
            f"dir {self.directory}\n"
            f"logfile {self.directory / 'sentinel.log'}\n"
            f"sentinel monitor {MASTER_NAME} 127.0.0.1 {primary_port} {quorum}\n"
            f"sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}\n"
            f"sentinel failover-timeout {MASTER_NAME} {FAILOVER_TIMEOUT_MS}\n"
        )
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout_seconds: float = 10.0) -> None:
        command = [redis_server_binary(), str(self.config), "--sentinel"]
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        until_it_answers(self._process, client, timeout_seconds, self.directory / "sentinel.log")

    def master_port(self) -> int | None:
        """The port of the primary this Sentinel currently names."""
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        try:
            found = client.sentinel_get_master_addr_by_name(MASTER_NAME)  # type: ignore[no-untyped-call]
        finally:
            client.close()
        return int(found[1]) if found else None

    def knows(self, replicas: int, other_sentinels: int) -> bool:
        """Has this Sentinel found the primary's replicas and its fellow Sentinels? Only
        then can they agree on a failover."""
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5, decode_responses=True)
        try:
            raw = client.execute_command("SENTINEL", "MASTER", MASTER_NAME)  # type: ignore[no-untyped-call]
        finally:
            client.close()
        fields = dict(zip(raw[::2], raw[1::2], strict=True)) if isinstance(raw, list) else raw
        return (
            int(fields["num-slaves"]) >= replicas
            and int(fields["num-other-sentinels"]) >= other_sentinels
        )

    def remove(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None
        shutil.rmtree(self.directory, ignore_errors=True)


class SentinelGroup:
    """A primary with AOF, one replica, and three Sentinels watching them."""

    def __init__(self) -> None:
        self.primary = RedisServer(appendonly=True)
        self.primary.start()
        self.replica = RedisServer(appendonly=True, replica_of=self.primary.port)
        self.replica.start()
        self.sentinels = [RedisSentinel(self.primary.port) for _ in range(3)]
        for sentinel in self.sentinels:
            sentinel.start()

    @property
    def addresses(self) -> str:
        """REDIS_SENTINELS for these Sentinels."""
        return ",".join(sentinel.address for sentinel in self.sentinels)

    async def until_ready(self, timeout_seconds: float = 30.0) -> None:
        """Until every Sentinel knows the replica and the other two."""
        async with asyncio.timeout(timeout_seconds):
            while not self._ready():  # noqa: ASYNC110 - Sentinels have no event to await
                await asyncio.sleep(0.2)

    async def until_promoted(self, port: int, timeout_seconds: float = 30.0) -> None:
        """Until every Sentinel names the server on ``port`` as the primary."""
        async with asyncio.timeout(timeout_seconds):
            while not self._promoted(port):  # noqa: ASYNC110 - no event to await either
                await asyncio.sleep(0.05)

    def _ready(self) -> bool:
        return all(s.knows(replicas=1, other_sentinels=2) for s in self.sentinels)

    def _promoted(self, port: int) -> bool:
        return all(s.master_port() == port for s in self.sentinels)

    def remove(self) -> None:
        for sentinel in self.sentinels:
            sentinel.remove()
        self.replica.remove()
        self.primary.remove()
