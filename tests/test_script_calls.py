"""Calling a Lua script when the server lacks it, while the pool's connections reach two
servers (as a Sentinel pool's can while the primary changes): the call runs, whichever
way it is made. redis-py's own answer (SCRIPT LOAD, then EVALSHA again) loaded the script
on one server and called it on the other; a worker's poll loop died of it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.typing import ScriptTextT

from sandbox.redis_server import RedisServer
from shared import arq_layout
from shared.pipelining import ScriptPipeline
from shared.redis_scripts import load_script
from shared.replicated import ScriptRunner
from shared.replication import ReplicaWatch
from tests.replicas import until_in_sync

JOB = "batch:901"
NOW = 1_700_000_000_000


class ScriptsLoadElsewhere(Redis):
    """A client whose SCRIPT LOAD reaches another server than its other commands."""

    elsewhere: Redis

    async def script_load(self, script: ScriptTextT) -> Any:
        return await self.elsewhere.script_load(script)


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[RedisServer, RedisServer]]:
    primary = RedisServer()
    primary.start()
    replica = RedisServer(replica_of=primary.port)
    replica.start()
    until_in_sync(replica)
    yield primary, replica
    replica.remove()
    primary.remove()


@pytest.fixture
async def split(servers: tuple[RedisServer, RedisServer]) -> AsyncIterator[Redis]:
    primary, replica = servers
    client = ScriptsLoadElsewhere.from_url(primary.url)
    client.elsewhere = Redis.from_url(replica.url)
    async with client.pipeline(transaction=False) as pipe:  # a server that lacks the script
        await pipe.flushall().script_flush().execute()
    await client.zadd(arq_layout.QUEUE, {JOB: NOW})
    yield client
    await client.elsewhere.aclose()
    await client.aclose()


def take_job_call() -> tuple[list[str], list[Any]]:
    return [arq_layout.QUEUE, arq_layout.in_progress_key(JOB)], [JOB, NOW, 60_000]


async def test_a_script_called_directly_runs(split: Redis) -> None:
    keys, args = take_job_call()
    assert await load_script(split, "take_job")(keys=keys, args=args) == NOW


async def test_a_script_in_the_pipelined_path_runs(split: Redis) -> None:
    keys, args = take_job_call()
    calls = ScriptPipeline(split, wait_replicas=1)
    assert await calls.call(load_script(split, "take_job"), keys, args) == NOW


async def test_a_script_whose_write_waits_for_a_replica_runs(split: Redis) -> None:
    keys, args = take_job_call()
    calls = ScriptRunner(split, 1, ReplicaWatch(1))
    script = load_script(split, "take_job")
    script.replicated = True  # as if its header said so: the path that waits for replicas
    assert await calls.call(script, keys, args) == NOW
    assert await split.get(arq_layout.in_progress_key(JOB)) == b"1"
