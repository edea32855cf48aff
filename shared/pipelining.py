"""Script calls made while Redis is busy go together, as one pipeline.

When many people write at once, the bot's handlers each call the append script. Sent
one by one, every call pays a pool checkout, a socket write and a wait for its own
reply. Here the first call goes out at once; calls made while it is on the wire wait
and then go out together as one pipeline, one write and one read for all of them. A
lone message costs exactly what it did before; under load the cost per message
falls. Each call still runs its script atomically and gets its own reply or error.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError, RedisError

from shared.replication import REPLICA_WAIT_TIMEOUT_MS, ReplicaWatch


class NotReplicated(RedisError):
    """Redis took the write, but fewer replicas than REDIS_WAIT_REPLICAS confirmed it in
    time: a failover now could lose it, so it is not acknowledged (and is tried again)."""


@dataclass(frozen=True, slots=True)
class _Call:
    script: AsyncScript
    keys: list[str]
    args: list[Any]
    reply: asyncio.Future[Any]


class ScriptPipeline:
    """Runs script calls through at most one pipeline in flight at a time."""

    def __init__(
        self, redis: Redis, wait_replicas: int = 0, replicas: ReplicaWatch | None = None
    ) -> None:
        self._redis = redis
        self._wait_replicas = wait_replicas
        self.replicas = replicas or ReplicaWatch(wait_replicas)
        self._waiting: list[_Call] = []
        self._sender: asyncio.Task[None] | None = None

    async def call(self, script: AsyncScript, keys: list[str], args: list[Any]) -> Any:
        """The script's reply, as ``await script(keys=keys, args=args)`` would give it."""
        reply: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Call(script, keys, args, reply))
        if self._sender is None:
            self._sender = asyncio.create_task(self._send_while_waiting())
        return await reply

    async def _send_while_waiting(self) -> None:
        try:
            while self._waiting:
                calls, self._waiting = self._waiting, []
                await self._send(calls)
        finally:
            self._sender = None

    async def _send(self, calls: list[_Call]) -> None:
        try:
            replies = await self._execute(calls)
        except Exception as error:  # the connection failed: every caller hears it
            for call in calls:
                if not call.reply.done():
                    call.reply.set_exception(error)
            return
        for call, reply in zip(calls, replies, strict=True):
            if call.reply.done():  # the caller was cancelled meanwhile
                continue
            if isinstance(reply, Exception):
                call.reply.set_exception(reply)
            else:
                call.reply.set_result(reply)

    async def _execute(self, calls: list[_Call]) -> list[Any]:
        replies = await self._pipeline(calls)
        unloaded = [i for i, reply in enumerate(replies) if isinstance(reply, NoScriptError)]
        if unloaded:
            # Redis restarted, was flushed or failed over: run those calls again with the
            # scripts themselves (see shared.redis_scripts.Script for why not SCRIPT LOAD).
            again = await self._pipeline([calls[i] for i in unloaded], by_body=True)
            for index, reply in zip(unloaded, again, strict=True):
                replies[index] = reply
        return replies

    async def _pipeline(self, calls: list[_Call], by_body: bool = False) -> list[Any]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for call in calls:
                if by_body:
                    pipe.eval(str(call.script.script), len(call.keys), *call.keys, *call.args)
                else:
                    pipe.evalsha(call.script.sha, len(call.keys), *call.keys, *call.args)
            # Same connection as the writes, so WAIT covers them (shared.replication).
            asked = self._wait_replicas > 0 and self.replicas.add_wait(
                pipe, REPLICA_WAIT_TIMEOUT_MS
            )
            replies: list[Any] = await pipe.execute(raise_on_error=False)
        if not self._wait_replicas:
            return replies
        replies, acknowledged, target = self.replicas.read_wait(replies, asked)
        if acknowledged < self._wait_replicas:
            shortfall = NotReplicated(
                f"{acknowledged} of {target} replica(s) confirmed the write within "
                f"{REPLICA_WAIT_TIMEOUT_MS} ms (REDIS_WAIT_REPLICAS={self._wait_replicas})"
            )
            return [reply if isinstance(reply, Exception) else shortfall for reply in replies]
        return replies
