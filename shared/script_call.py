"""What a script call is: a dataclass whose fields are the script's keys and arguments
in the order the script declares them (``local <name> = KEYS[i]`` / ``ARGV[i]`` at its
top). The builders themselves are :mod:`shared.script_calls`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from shared.redis_scripts import job_script_call

PART = "script_part"


def key() -> Any:
    """A field that is one of the script's KEYS."""
    return field(metadata={PART: "key"})


def arg() -> Any:
    """A field that is one of the script's ARGV."""
    return field(metadata={PART: "arg"})


def rest() -> Any:
    """A sequence spread as the script's last arguments (``argv_from`` in ``lib.lua``)."""
    return field(metadata={PART: "rest"})


class ScriptCall:
    """A call of ``lua/<script>.lua``."""

    script: ClassVar[str]
    first_arg: ClassVar[int] = 1
    """The ARGV index of the first named argument."""

    @classmethod
    def names(cls, part: str) -> list[str]:
        """The fields of one part ('key', 'arg' or 'rest'), in order."""
        return [f.name for f in fields(cls) if f.metadata.get(PART) == part]  # type: ignore[arg-type]

    def keys(self) -> list[str]:
        return [getattr(self, name) for name in self.names("key")]

    def args(self) -> list[Any]:
        named = [getattr(self, name) for name in self.names("arg")]
        return named + [item for name in self.names("rest") for item in getattr(self, name)]


@dataclass(frozen=True, slots=True, kw_only=True)
class JobScriptCall(ScriptCall):
    """A script that schedules the conversation's job: the job's three keys follow the
    script's, and the job's layout (conversation, job id, payload, key TTL) comes before
    its arguments (``arq_jobs.lua``)."""

    first_arg: ClassVar[int] = 5
    conversation: str
    key_ttl_seconds: int

    def keys(self) -> list[str]:
        return self._layout()[0]

    def args(self) -> list[Any]:
        return self._layout()[1]

    def _layout(self) -> tuple[list[str], list[Any]]:
        own_keys, own_args = ScriptCall.keys(self), ScriptCall.args(self)
        return job_script_call(self.conversation, self.key_ttl_seconds, own_keys, own_args)
