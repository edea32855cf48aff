"""Fails when pyproject.toml and the lock files disagree: a dependency added, or a bound
changed, without running ./scripts/lock. Offline and quick: it reads the three files only.

Each requirement of pyproject.toml (the project's, and the dev extra's for the dev lock)
must be pinned in the lock with a version its bounds allow.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
"""The repository; a test passes another folder holding the same three files."""
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", re.MULTILINE)


def pins(lock: Path) -> dict[str, str]:
    """Package name (canonical) → the version the lock pins."""
    return {canonicalize_name(name): version for name, version in PIN.findall(lock.read_text())}


def problems(requirements: list[str], lock: Path) -> list[str]:
    if not lock.exists():
        return [f"{lock.name} is missing"]
    pinned = pins(lock)
    found: list[str] = []
    for line in requirements:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        if name not in pinned:
            found.append(f"{requirement.name} is in pyproject.toml but not in {lock.name}")
        elif not requirement.specifier.contains(pinned[name], prereleases=True):
            found.append(
                f"{lock.name} pins {requirement.name}=={pinned[name]}, outside pyproject.toml's "
                f"{requirement.specifier}"
            )
    return found


def main() -> int:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    runtime: list[str] = project["dependencies"]
    dev: list[str] = project["optional-dependencies"]["dev"]
    found = problems(runtime, root / "requirements.lock") + problems(
        runtime + dev, root / "requirements-dev.lock"
    )
    for problem in found:
        print(f"lock check: {problem}", file=sys.stderr)
    if found:
        print("lock check: run ./scripts/lock and commit the lock files", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
