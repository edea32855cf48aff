"""Every script call of a process's stores goes through one :class:`ScriptRunner`.

A script is loaded once, sent again on NOSCRIPT, and replicated or not as its header says
(``-- replicated: yes``), never as a call site chooses: with REDIS_WAIT_REPLICAS set, a
replicated script's write is followed by WAIT in the same pipeline, and fewer replicas
confirming within :data:`shared.replication.REPLICA_WAIT_TIMEOUT_MS` raises NotReplicated
before the caller goes on, because a step made on a write a failover could lose (a claim,
a takeover, a part marked as going) would be made twice, or over a human. The job is
retried and resumes; the bot answers its platform 503 and is delivered the message again.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from shared.pipelining import NotReplicated
from shared.redis_scripts import Script, load_script
from shared.replication import REPLICA_WAIT_TIMEOUT_MS, ReplicaWatch
from shared.script_call import ScriptCall


class ScriptRunner:
    """Script calls on one connection pool, one view of the replicas for the process."""

    def __init__(
        self, redis: Redis, wait_replicas: int = 0, replicas: ReplicaWatch | None = None
    ) -> None:
        self.redis = redis
        self.wait_replicas = wait_replicas
        self.replicas = replicas or ReplicaWatch(wait_replicas)
        self._scripts: dict[str, Script] = {}

    def script(self, name: str) -> Script:
        """``lua/<name>.lua``, loaded once for this runner."""
        if name not in self._scripts:
            self._scripts[name] = load_script(self.redis, name)
        return self._scripts[name]

    async def execute(self, call: ScriptCall) -> Any:
        """The script's reply; once enough replicas have its write, when it is replicated."""
        return await self.call(self.script(call.script), *call.words())

    async def call(self, script: Script, keys: list[str], args: list[Any]) -> Any:
        if not (self.wait_replicas and script.replicated):
            return await script(keys=keys, args=args)
        reply = await self._run_and_wait(script, keys, args)
        if isinstance(reply, NoScriptError):  # see shared.redis_scripts.Script
            reply = await self._run_and_wait(script, keys, args, by_body=True)
        if isinstance(reply, Exception):
            raise reply
        return reply

    async def _run_and_wait(
        self, script: Script, keys: list[str], args: list[Any], by_body: bool = False
    ) -> Any:
        async with self.redis.pipeline(transaction=False) as pipe:
            if by_body:
                pipe.eval(str(script.script), len(keys), *keys, *args)
            else:
                pipe.evalsha(script.sha, len(keys), *keys, *args)
            asked = self.replicas.add_wait(pipe, REPLICA_WAIT_TIMEOUT_MS)
            replies = await pipe.execute(raise_on_error=False)
        [reply], acknowledged, target = self.replicas.read_wait(replies, asked)
        if acknowledged < self.wait_replicas and not isinstance(reply, Exception):
            return NotReplicated(
                f"{acknowledged} of {target} replica(s) confirmed a write within "
                f"{REPLICA_WAIT_TIMEOUT_MS} ms (REDIS_WAIT_REPLICAS={self.wait_replicas})"
            )
        return reply
