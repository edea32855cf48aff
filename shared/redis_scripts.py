"""Loading batchbot's Lua scripts, and reading what they return.

Redis scripts cannot import, so every script is sent with ``lua/lib.lua`` (the clock,
message ordering) and ``lua/arq_jobs.lua`` (the only Lua that knows how ARQ's jobs
work) in front of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from shared.arq_layout import BatchJob

PRELUDE = ("lib.lua", "arq_jobs.lua")


def load_script(redis: Redis, name: str) -> AsyncScript:
    """``lua/<name>.lua`` with the prelude in front, registered on this client."""
    lua = resources.files("shared").joinpath("lua")
    parts = [lua.joinpath(part).read_text() for part in (*PRELUDE, f"{name}.lua")]
    return redis.register_script("".join(parts))


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
