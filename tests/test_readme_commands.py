"""Every command the README shows runs as written after the README's set-up, from the
repository in a shell whose virtual environment is not activated: each one's ``--help``
answers (exit 0, a usage line), so a renamed module, a missing entry point or a command
that needs ``source .venv/bin/activate`` fails here. Docker Compose, curl and settings
lines are not batchbot's commands and are left to their own tests."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
OURS = (".venv/bin/", "./scripts/")
NOT_RUN_HERE = ("./scripts/test",)
"""The test command runs this suite: it is what CI runs, so it is proven by running."""


def shell_lines() -> list[str]:
    """Command lines of the README: its sh blocks, and inline code that starts a command."""
    lines: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", README, re.DOTALL):
        joined = block.replace("\\\n", " ")  # continued lines
        lines += [line for line in joined.splitlines() if line.strip()]
    lines += re.findall(r"`((?:\.venv/bin/|\./scripts/)[^`]+)`", README)
    return lines


def commands() -> list[str]:
    """Each of batchbot's commands once, up to its first placeholder or option, e.g.
    ``.venv/bin/python -m batchctl dead-letters show``."""
    found: dict[str, None] = {}
    for line in shell_lines():
        command_line = line.split(" #", 1)[0]
        for part in re.split(r"\s*(?:&&|&|;|\|)\s*", command_line):
            words = shlex.split(part) if part.strip() else []
            while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
                words = words[1:]  # VARIABLE=value before the command
            if not words or not words[0].startswith(OURS):
                continue
            kept: list[str] = []
            for word in words:
                option = word.startswith("-") and word != "-m"
                if option or word.startswith(("<", "$")) or "..." in word or "…" in word:
                    break
                kept.append(word)
            found[" ".join(kept)] = None
    return list(found)


COMMANDS = commands()


def test_the_readme_shows_every_process_and_tool() -> None:
    for expected in (
        ".venv/bin/python -m bot",
        ".venv/bin/python -m worker",
        ".venv/bin/arq worker.main.WorkerSettings",
        ".venv/bin/python -m batchctl console",
        ".venv/bin/python -m batchctl inspect",
        ".venv/bin/python -m batchctl dead-letters list",
        ".venv/bin/python -m shared.schema",
        ".venv/bin/python -m sandbox.example_backend",
        "./scripts/demo",
        "./scripts/lock",
    ):
        assert expected in COMMANDS, f"{expected!r} is not in the README as a command"
    bare = re.findall(r"(?<!/bin/)(?<!exec worker )python -m \S+", README)
    assert not bare, f"write these as .venv/bin/python -m ...: {bare}"


@pytest.mark.parametrize("command", [c for c in COMMANDS if c not in NOT_RUN_HERE])
def test_each_readme_command_answers_help(command: str) -> None:
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("VIRTUAL_ENV", "PYTHONPATH") and not name.startswith("BATCH")
    }
    environment["PATH"] = os.pathsep.join(
        p for p in environment.get("PATH", "").split(os.pathsep) if ".venv" not in p
    )
    if command.startswith(".venv/bin/arq"):
        argv = [".venv/bin/arq", "--help"]  # ARQ's CLI starts the worker for a class name
    else:
        argv = [*shlex.split(command), "--help"]
    finished = subprocess.run(
        argv, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120, check=False
    )
    assert finished.returncode == 0, f"{command} --help: {finished.stderr[-2000:]}"
    assert "usage" in finished.stdout.lower(), finished.stdout[:500]
    assert "Traceback" not in finished.stderr
