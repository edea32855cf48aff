"""Waiting for a replica, shared by the tests that start one."""

from __future__ import annotations

import time
from typing import Any, cast

import redis

from sandbox.redis_server import RedisServer


def until_in_sync(replica: RedisServer) -> None:
    """Until the replica's first sync is done: before it, WAIT has no replica to count."""
    client = redis.Redis(port=replica.port)
    deadline = time.monotonic() + 30
    while cast(dict[str, Any], client.info("replication"))["master_link_status"] != "up":
        assert time.monotonic() < deadline, "the replica did not sync within 30 s"
        time.sleep(0.05)  # polls the replica's state; nothing races it
    client.close()
