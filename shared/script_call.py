"""What a script call is: a dataclass whose fields are the script's keys and arguments
in the order the script declares them (``local <name> = KEYS[i]`` / ``ARGV[i]`` at its
top). The builders themselves are :mod:`shared.script_calls` and
:mod:`shared.outside_script_calls`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
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
    """A call of ``lua/<script>.lua``: :meth:`words` is what EVALSHA is sent."""

    script: ClassVar[str]
    first_arg: ClassVar[int] = 1
    """The ARGV index of the first named argument."""

    @classmethod
    def names(cls, part: str) -> list[str]:
        """The fields of one part ('key', 'arg' or 'rest'), in order."""
        return [f.name for f in fields(cls) if f.metadata.get(PART) == part]  # type: ignore[arg-type]

    def words(self) -> tuple[list[str], list[Any]]:
        """The call's KEYS and ARGV. (Read through getters made once per class: the append
        runs this for every message, and field introspection cost 30 µs of it.)"""
        keys, args, rest = _getters_of(type(self))
        words = [*args(self)]
        for sequence in rest(self):
            words.extend(sequence)
        return [*keys(self)], words


Getter = Callable[[ScriptCall], tuple[Any, ...]]
_GETTERS: dict[type[ScriptCall], tuple[Getter, Getter, Getter]] = {}


def _getters_of(call: type[ScriptCall]) -> tuple[Getter, Getter, Getter]:
    if call not in _GETTERS:
        _GETTERS[call] = (_getter(call, "key"), _getter(call, "arg"), _getter(call, "rest"))
    return _GETTERS[call]


def _getter(call: type[ScriptCall], part: str) -> Getter:
    names = call.names(part)
    if len(names) > 1:
        return operator.attrgetter(*names)
    if names:
        one = operator.attrgetter(names[0])
        return lambda value: (one(value),)
    return lambda value: ()


@dataclass(frozen=True, slots=True, kw_only=True)
class JobScriptCall(ScriptCall):
    """A script that schedules the conversation's job: the job's three keys follow the
    script's, and the job's layout (conversation, job id, payload, key TTL) comes before
    its arguments (``arq_jobs.lua``)."""

    first_arg: ClassVar[int] = 5
    conversation: str
    key_ttl_seconds: int

    def words(self) -> tuple[list[str], list[Any]]:
        own_keys, own_args = ScriptCall.words(self)
        return job_script_call(self.conversation, self.key_ttl_seconds, own_keys, own_args)
