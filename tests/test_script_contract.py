"""What the Lua scripts rely on and Python must keep: each script says what it includes
(and uses nothing else), names its keys and arguments at its top exactly as its Python
builder does, and the stored message JSON starts with the fields the scripts read by
position."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from importlib import resources

import pytest
from redis.asyncio import Redis

from shared.models import IncomingMessage, MessageKind, to_json
from shared.redis_scripts import INCLUDABLE, ScriptHeaderError, load_script, script_header
from shared.script_call import ScriptCall
from shared.script_calls import CALLS
from shared.states import AbandonReason

LUA = resources.files("shared").joinpath("lua")
SCRIPTS = sorted(
    path.name.removesuffix(".lua")
    for path in LUA.iterdir()
    if path.name.endswith(".lua") and path.name not in INCLUDABLE
)


def _functions_of(name: str) -> set[str]:
    return set(re.findall(r"(?m)^local function (\w+)", LUA.joinpath(name).read_text()))


@pytest.mark.parametrize("name", SCRIPTS)
def test_each_script_includes_what_it_uses_and_nothing_more(name: str) -> None:
    body = LUA.joinpath(f"{name}.lua").read_text()
    includes, _ = script_header(name, body)
    for part in INCLUDABLE:
        used = any(re.search(rf"\b{function}\(", body) for function in _functions_of(part))
        assert used == (part in includes), f"{name}.lua: {part} used={used}"


DECLARED = re.compile(
    r"(?m)^local (\w+) = (?:tonumber\()?(KEYS|ARGV)\[(\d+)\]\)?$"
    r"|^local (\w+) = argv_from\((\d+)\)$"
)


def _declared(body: str) -> dict[str, list[tuple[int, str]]]:
    """The named KEYS, ARGV and rest of ARGV a script declares, by index."""
    found: dict[str, list[tuple[int, str]]] = {"key": [], "arg": [], "rest": []}
    for match in DECLARED.finditer(body):
        name, where, index, rest_name, rest_from = match.groups()
        if rest_name:
            found["rest"].append((int(rest_from), rest_name))
        else:
            found["key" if where == "KEYS" else "arg"].append((int(index), name))
    return found


def test_every_script_has_one_builder() -> None:
    assert sorted(call.script for call in CALLS) == SCRIPTS


@pytest.mark.parametrize("call", CALLS, ids=lambda call: call.script)
def test_each_builder_names_what_its_script_declares(call: type[ScriptCall]) -> None:
    """Name for name and in order: the Python field, the Lua local, the position sent."""
    body = LUA.joinpath(f"{call.script}.lua").read_text()
    declared = _declared(body)
    keys, args = declared["key"], declared["arg"]
    assert [index for index, _ in keys] == list(range(1, len(keys) + 1))
    assert [name for _, name in keys] == call.names("key")
    assert [index for index, _ in args] == list(range(call.first_arg, call.first_arg + len(args)))
    assert [name for _, name in args] == call.names("arg")
    assert declared["rest"] == [(call.first_arg + len(args), name) for name in call.names("rest")]


@pytest.mark.parametrize("name", SCRIPTS)
def test_scripts_read_keys_and_arguments_only_through_their_named_locals(name: str) -> None:
    body = LUA.joinpath(f"{name}.lua").read_text()
    code = DECLARED.sub("", "\n".join(line.split("--")[0] for line in body.splitlines()))
    assert re.findall(r"KEYS\[|ARGV\[|#ARGV|unpack\(ARGV", code) == []


def test_a_script_without_its_header_is_refused() -> None:
    with pytest.raises(ScriptHeaderError, match="must begin with '-- includes:"):
        script_header("nameless", "-- Does something.\nreturn 1\n")
    with pytest.raises(ScriptHeaderError, match="not includable"):
        script_header("odd", "-- includes: other.lua\n-- replicated: no\n")


def test_the_writes_the_takeover_and_crash_rules_rely_on_are_replicated() -> None:
    replicated = {name for name in SCRIPTS if load_script(Redis(), name).replicated}
    # Not: the sweep's schedule and a job's pick (redone anyway), and the photo cache (a
    # photo lost in a failover is fetched when its batch goes).
    not_replicated = {"schedule", "take_job", "take_tenant_job", "unpark_jobs", "park_jobs",
                      "cache_media"}  # fmt: skip
    assert replicated == set(SCRIPTS) - not_replicated


@pytest.mark.parametrize(
    "message_id", [41, "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0R22="]
)
def test_stored_messages_begin_with_the_id_then_the_date(message_id: int | str) -> None:
    """lib.lua orders and edits messages by reading ``^{"message_id":...,"date":"..."``
    from the stored JSON: the model's field order and the date's form are a contract."""
    message = IncomingMessage(
        message_id=message_id,
        date=datetime(2026, 11, 22, 10, 0, 1, tzinfo=UTC),
        kind=MessageKind.TEXT,
        text="hola",
    )
    stored = to_json(message)
    quoted = f'"{message_id}"' if isinstance(message_id, str) else str(message_id)
    assert stored.startswith(f'{{"message_id":{quoted},"date":"2026-11-22T10:00:01Z",'), stored
    assert list(IncomingMessage.model_fields)[:2] == ["message_id", "date"]


def test_every_abandon_reason_the_lua_writes_is_one_python_knows() -> None:
    """``abandon(..., '<why>')`` and ``'halted', '<why>'`` in the scripts are
    :class:`shared.states.AbandonReason` values: Python counts and logs them by name."""
    written: set[str] = set()
    for name in SCRIPTS:
        body = LUA.joinpath(f"{name}.lua").read_text()
        written |= set(re.findall(r"abandon\([^)]*'(\w+)'\)", body))
        written |= set(re.findall(r"'halted', '(\w+)'", body))
    assert written and written <= {reason.value for reason in AbandonReason}
