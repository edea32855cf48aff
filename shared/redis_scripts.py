"""Loading batchbot's Lua scripts, and reading what they return.

Redis scripts cannot import, so every script is sent with ``lua/lib.lua`` (the clock,
message ordering) and ``lua/arq_jobs.lua`` (the only Lua that knows how ARQ's jobs
work) in front of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from importlib import resources
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError
from redis.typing import EncodableT, KeyT

from shared.arq_layout import BatchJob

PRELUDE = ("lib.lua", "arq_jobs.lua")


class Script(AsyncScript):
    """redis-py's script, with its answer to NOSCRIPT made safe during a failover.

    redis-py answers NOSCRIPT with SCRIPT LOAD and then EVALSHA again, each on whichever
    connection the pool hands out. While Sentinel's view of the primary settles, the two
    can reach different servers, and the second NOSCRIPT escaped: it stopped a worker's
    poll loop (``take_job``). EVAL carries the script itself, so it runs wherever it
    lands (a replica answers READONLY, which sends the connection to the new primary and
    is retried), and leaves the script cached there for the next EVALSHA.
    """

    async def __call__(
        self,
        keys: Sequence[KeyT] | None = None,
        args: Iterable[EncodableT] | None = None,
        client: Redis | None = None,
    ) -> Any:
        target = self.registered_client if client is None else client
        if isinstance(target, Pipeline):  # a pipeline loads its scripts before it runs
            return await super().__call__(keys, args, target)
        count = len(keys or ())
        words: list[Any] = [*(keys or ()), *(args or ())]
        try:
            return await target.evalsha(self.sha, count, *words)  # type: ignore[misc]
        except NoScriptError:
            return await target.eval(str(self.script), count, *words)  # type: ignore[misc]


def load_script(redis: Redis, name: str) -> Script:
    """``lua/<name>.lua`` with the prelude in front, registered on this client."""
    lua = resources.files("shared").joinpath("lua")
    parts = [lua.joinpath(part).read_text() for part in (*PRELUDE, f"{name}.lua")]
    return Script(redis, "".join(parts))


def as_text(value: Any) -> str:
    """A script's reply element as text (Redis answers bytes, integers or strings)."""
    return value.decode() if isinstance(value, bytes) else str(value)


def job_script_call(
    conversation: str, key_ttl_seconds: int, keys: list[str], args: list[Any]
) -> tuple[list[str], list[Any]]:
    """KEYS and ARGV for a script that schedules the conversation's job, in the layout
    ``arq_jobs.lua`` reads: the script's keys then the job's; the job's arguments and
    the key TTL, then the script's."""
    job = BatchJob(conversation)
    return [*keys, *job.keys], [*job.args, key_ttl_seconds, *args]


async def run_job_script(
    script: AsyncScript,
    conversation: str,
    key_ttl_seconds: int,
    keys: list[str],
    args: Sequence[Any] = (),
) -> Any:
    """Call a script that schedules the conversation's job (:func:`job_script_call`)."""
    job_keys, job_args = job_script_call(conversation, key_ttl_seconds, keys, [*args])
    return await script(keys=job_keys, args=job_args)
