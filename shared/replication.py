"""Whether Redis's replicas confirm the writes that REDIS_WAIT_REPLICAS asks them to, and
how many to wait for.

A write waits for every replica connected to the primary, and for at least
REDIS_WAIT_REPLICAS. Waiting for fewer than all would not be enough: Sentinel promotes
the replica it believes most up to date from INFO replies up to a second old, so with
two replicas and a write confirmed by one, the other may be promoted and the write lost
(seen in tests/test_failover.py). Waiting for all that are connected makes any promoted
replica hold every acknowledged write; after a failover fewer are connected, so writes
keep flowing as long as REDIS_WAIT_REPLICAS are left. The connected count is read with
``INFO replication`` inside a write's own pipeline, at most once a second: no extra
round trip.

With REDIS_WAIT_REPLICAS=N the bot acknowledges a message to its platform only once N
replicas hold it. While fewer answer (a replica down, or none left after a failover),
messages are not acknowledged: Telegram and Meta keep them and deliver them again, so
nothing is lost, but nothing is answered either. That state is worth one clear line
when it begins and one when it ends, a gauge, and a failing ``/healthz``; not a line
per message, which at scale would bury everything else.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from shared import metrics

log = logging.getLogger("batchbot.redis")

REPLICA_WAIT_TIMEOUT_MS = 1000
"""How long any write waits for its replicas (a healthy one answers in a millisecond);
fewer than REDIS_WAIT_REPLICAS by then and the write counts as not acknowledged."""

REFRESH_SECONDS = 1.0
"""How often the connected replicas are counted (a failover changes them)."""


class ReplicaWatch:
    """The last WAIT's answer, compared with what REDIS_WAIT_REPLICAS asks for."""

    def __init__(self, wanted: int) -> None:
        self.wanted = wanted
        self.confirming: int | None = None
        """Replicas that confirmed the last write; None before the first."""
        self.connected = 0
        """Replicas connected to the primary, as of :attr:`_read_at`."""
        self._read_at = float("-inf")

    @property
    def target(self) -> int:
        """How many replicas a write waits for: all connected, at least ``wanted``."""
        return max(self.wanted, self.connected)

    def add_wait(self, pipe: Pipeline, timeout_ms: int) -> bool:
        """Add WAIT (and, once a second, INFO replication before it) to a pipeline of
        writes; True if INFO was added, for :meth:`read_wait`."""
        asks = time.monotonic() - self._read_at >= REFRESH_SECONDS
        if asks:
            pipe.info("replication")
        pipe.execute_command("WAIT", self.target, timeout_ms)
        return asks

    def read_wait(self, replies: list[Any], asked: bool) -> tuple[list[Any], int, int]:
        """The writes' replies, the replicas that confirmed them, and how many were
        waited for; takes the INFO and WAIT replies off the end of ``replies``."""
        target = self.target
        acknowledged = replies.pop()
        if asked:
            info = replies.pop()
            if isinstance(info, dict):
                self.connected = int(info.get("connected_slaves", 0))
                self._read_at = time.monotonic()
        confirmed = acknowledged if isinstance(acknowledged, int) else 0
        self.record(confirmed)
        return replies, confirmed, target

    @property
    def short(self) -> bool:
        return self.confirming is not None and self.confirming < self.wanted

    @property
    def problem(self) -> str | None:
        """What /healthz says while writes lack their replicas; None when they have them."""
        if not self.short:
            return None
        return (
            f"REDIS_WAIT_REPLICAS={self.wanted} but {self.confirming} replica(s) confirm writes: "
            "messages are not acknowledged (their platform delivers them again) until enough do"
        )

    async def check_at_start(self, redis: Redis) -> None:
        """Count the connected replicas once at start-up, so a process that starts short of
        them says so at once rather than at its first write."""
        if self.wanted <= 0:
            return
        info = await redis.info("replication")
        self.connected = int(info.get("connected_slaves", 0))
        self._read_at = time.monotonic()
        self.record(self.connected)

    def record(self, confirmed: int) -> None:
        """One write's WAIT answer; logs only when the state changes."""
        was_short = self.short
        self.confirming = confirmed
        metrics.REDIS_REPLICAS_CONFIRMING.set(confirmed)
        if self.short and not was_short:
            log.warning("%s", self.problem)
        elif was_short and not self.short:
            log.warning(
                "replicas confirm writes again (%d of REDIS_WAIT_REPLICAS=%d): messages are "
                "acknowledged and answered as before",
                confirmed,
                self.wanted,
            )
