"""A throwaway Redis Sentinel (``redis-server --sentinel``) watching a sandbox primary."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
from collections import Counter
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

    def healthy_replicas(self) -> int | None:
        """Replicas this Sentinel sees up and in sync with the primary, once it has no
        failover of its own under way; None while one is."""
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5, decode_responses=True)
        try:
            master = client.execute_command("SENTINEL", "MASTER", MASTER_NAME)  # type: ignore[no-untyped-call]
            replicas = client.execute_command("SENTINEL", "REPLICAS", MASTER_NAME)  # type: ignore[no-untyped-call]
        finally:
            client.close()
        if "failover_in_progress" in _fields(master).get("flags", ""):
            return None
        return sum(
            1
            for replica in replicas
            if _fields(replica).get("flags") == "slave"
            and _fields(replica).get("master-link-status") == "ok"
        )

    def remove(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None
        shutil.rmtree(self.directory, ignore_errors=True)


def _fields(raw: object) -> dict[str, str]:
    """A Sentinel reply (a flat list, or a dict in newer clients) as a dict."""
    if isinstance(raw, dict):
        return {str(k): str(v) for k, v in raw.items()}
    assert isinstance(raw, list)
    return {str(k): str(v) for k, v in zip(raw[::2], raw[1::2], strict=True)}


class SentinelGroup:
    """A primary with AOF, two replicas, and three Sentinels watching them: after one
    failover a replica is still there, so REDIS_WAIT_REPLICAS=1 keeps writes flowing."""

    def __init__(self, replicas: int = 2) -> None:
        self.primary = RedisServer(appendonly=True)
        self.primary.start()
        self.replicas = [
            RedisServer(appendonly=True, replica_of=self.primary.port) for _ in range(replicas)
        ]
        for replica in self.replicas:
            replica.start()
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

    @property
    def replica(self) -> RedisServer:
        return self.replicas[0]

    @property
    def servers(self) -> list[RedisServer]:
        return [self.primary, *self.replicas]

    async def until_failed_over(
        self, from_server: RedisServer, timeout_seconds: float = 30.0
    ) -> RedisServer:
        """Until a majority of the Sentinels (the quorum clients follow) names one other
        server as the primary; that server. (The failover's leader may name it only
        seconds later, once it has reconfigured the replicas.)"""
        async with asyncio.timeout(timeout_seconds):
            while True:
                named = Counter(s.master_port() for s in self.sentinels)
                port, votes = named.most_common(1)[0]
                if (
                    port is not None
                    and port != from_server.port
                    and votes * 2 > len(self.sentinels)
                ):
                    return next(server for server in self.servers if server.port == port)
                await asyncio.sleep(0.05)

    async def until_settled(self, replicas: int, timeout_seconds: float = 60.0) -> None:
        """Until the last failover is over: every Sentinel names one primary, has no
        failover under way, and sees ``replicas`` replicas up and in sync with it (a
        restarted old primary counts once it has caught up)."""
        async with asyncio.timeout(timeout_seconds):
            while True:
                ports = {s.master_port() for s in self.sentinels}
                seen = [s.healthy_replicas() for s in self.sentinels]
                if len(ports) == 1 and all(count == replicas for count in seen):
                    return
                await asyncio.sleep(0.1)

    def _ready(self) -> bool:
        return all(s.knows(len(self.replicas), other_sentinels=2) for s in self.sentinels)

    def remove(self) -> None:
        for sentinel in self.sentinels:
            sentinel.remove()
        for server in self.servers:
            server.remove()
