"""A worker's script call that must reach the replicas before its next step.

With REDIS_WAIT_REPLICAS set, each write of a batch's protocol (claim, answer, parts
sent, release, takeover) is followed by WAIT in the same pipeline; fewer replicas
confirming raises NotReplicated before the next step, because a backend call or a send
made on a claim a failover could lose would be made twice. The job is retried and
resumes. A just-promoted primary that lacks the script is sent the script itself.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

from shared.pipelining import NotReplicated
from shared.replication import ReplicaWatch

WORKER_WAIT_TIMEOUT_MS = 1000
"""A worker's write waits this long for its replicas (a healthy one answers in a
millisecond); fewer than REDIS_WAIT_REPLICAS by then and the step does not go on."""


class ReplicatedCalls:
    """Script calls on one connection pool, each confirmed by ``wait_replicas`` replicas."""

    def __init__(self, redis: Redis, wait_replicas: int, replicas: ReplicaWatch) -> None:
        self.redis = redis
        self.wait_replicas = wait_replicas
        self.replicas = replicas

    async def call(self, script: AsyncScript, keys: list[str], args: list[Any]) -> Any:
        """The script's reply, once enough replicas have the write (at once without any)."""
        if not self.wait_replicas:
            return await script(keys=keys, args=args)
        reply = await self._run_and_wait(script, keys, args)
        if isinstance(reply, NoScriptError):  # see shared.redis_scripts.Script
            reply = await self._run_and_wait(script, keys, args, by_body=True)
        if isinstance(reply, Exception):
            raise reply
        return reply

    async def _run_and_wait(
        self, script: AsyncScript, keys: list[str], args: list[Any], by_body: bool = False
    ) -> Any:
        async with self.redis.pipeline(transaction=False) as pipe:
            if by_body:
                pipe.eval(str(script.script), len(keys), *keys, *args)
            else:
                pipe.evalsha(script.sha, len(keys), *keys, *args)
            asked = self.replicas.add_wait(pipe, WORKER_WAIT_TIMEOUT_MS)
            replies = await pipe.execute(raise_on_error=False)
        [reply], acknowledged, target = self.replicas.read_wait(replies, asked)
        if acknowledged < self.wait_replicas and not isinstance(reply, Exception):
            return NotReplicated(
                f"{acknowledged} of {target} replica(s) confirmed a batch's write within "
                f"{WORKER_WAIT_TIMEOUT_MS} ms (REDIS_WAIT_REPLICAS={self.wait_replicas})"
            )
        return reply
