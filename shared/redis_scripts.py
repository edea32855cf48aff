"""Loading batchbot's Lua scripts, and reading what they return.

Redis scripts cannot import, so each script says in its first lines what it needs sent
in front of it (``-- includes: lib.lua arq_jobs.lua``: the clock and message ordering;
the only Lua that knows how ARQ's jobs work), and whether its caller waits for the
replicas before going on (``-- replicated: yes``; see :mod:`shared.replicated`).
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

INCLUDABLE = ("lib.lua", "arq_jobs.lua")
"""What a script may include, in the order it is sent."""


class ScriptHeaderError(ValueError):
    """A script does not say what it includes or whether it is replicated."""


class Script(AsyncScript):
    """redis-py's script, with its answer to NOSCRIPT made safe during a failover.

    redis-py answers NOSCRIPT with SCRIPT LOAD and then EVALSHA again, each on whichever
    connection the pool hands out. While Sentinel's view of the primary settles, the two
    can reach different servers, and the second NOSCRIPT escaped: it stopped a worker's
    poll loop (``take_job``). EVAL carries the script itself, so it runs wherever it
    lands (a replica answers READONLY, which sends the connection to the new primary and
    is retried), and leaves the script cached there for the next EVALSHA.
    """

    replicated: bool = False
    """Its header's ``-- replicated: yes``: callers wait for REDIS_WAIT_REPLICAS."""

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
    """``lua/<name>.lua`` with what its header includes in front, on this client."""
    lua = resources.files("shared").joinpath("lua")
    body = lua.joinpath(f"{name}.lua").read_text()
    includes, replicated = script_header(name, body)
    parts = [lua.joinpath(part).read_text() for part in INCLUDABLE if part in includes]
    script = Script(redis, "".join([*parts, body]))
    script.replicated = replicated
    return script


def script_header(name: str, body: str) -> tuple[set[str], bool]:
    """What a script's first two lines declare: the files it includes, and whether its
    caller waits for the replicas."""
    lines = body.splitlines()[:2]
    if len(lines) < 2 or not (
        lines[0].startswith("-- includes: ") and lines[1].startswith("-- replicated: ")
    ):
        raise ScriptHeaderError(
            f"lua/{name}.lua must begin with '-- includes: <files or (nothing)>' and "
            "'-- replicated: yes|no (why)'"
        )
    includes = set(lines[0].removeprefix("-- includes: ").split()) - {"(nothing)"}
    unknown = includes - set(INCLUDABLE)
    if unknown:
        raise ScriptHeaderError(f"lua/{name}.lua includes {sorted(unknown)}: not includable")
    return includes, lines[1].removeprefix("-- replicated: ").startswith("yes")


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
