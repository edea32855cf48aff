"""The Docker Compose stack, the Dockerfiles and .env.example stay valid and complete.

There is no Docker engine where these tests run, so images are not built here; the
compose file is validated by ``docker-compose config`` and the Dockerfiles are checked
for what an operator relies on.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from batchctl.console import ConsoleSettings
from bot.settings import BotSettings
from sandbox.launcher import ChildProcess
from sandbox.redis_server import RedisServer, free_port
from sandbox.telegram_api import TelegramStandIn
from tests.conftest import launch_polling_bot
from worker.settings import WorkerProcessSettings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_ONLY_VARIABLES = {"REDIS_PASSWORD", "GRAFANA_ADMIN_PASSWORD"}


def every_setting() -> set[str]:
    fields = set(BotSettings.model_fields) | set(WorkerProcessSettings.model_fields)
    fields |= set(ConsoleSettings.model_fields)
    return {name.upper() for name in fields}


def docker_compose(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose")
    assert binary, "docker-compose not found: ./scripts/test installs it (apt-get or brew)"
    return subprocess.run(
        [binary, *args], check=False, cwd=directory, capture_output=True, text=True, timeout=60
    )


def compose_config(tmp_path: Path) -> str:
    """``docker-compose config`` in a copy of the project with .env made from the example."""
    shutil.copytree(ROOT / "monitoring", tmp_path / "monitoring", dirs_exist_ok=True)
    for name in ("docker-compose.yml", "Dockerfile.bot", "Dockerfile.worker"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    quiet = docker_compose(tmp_path, "config", "-q")
    assert quiet.returncode == 0, quiet.stderr
    return docker_compose(tmp_path, "config").stdout


def test_compose_file_is_valid_and_keeps_its_promises(tmp_path: Path) -> None:
    config = compose_config(tmp_path)
    compose = (ROOT / "docker-compose.yml").read_text()
    assert "--appendonly yes --appendfsync everysec" in compose
    assert "redis-data:/data" in config
    # RedisInsight and Grafana are reachable from this machine only; nothing else is published.
    assert published_ports((ROOT / "docker-compose.yml").read_text()) == [
        "127.0.0.1:5540:5540",
        "127.0.0.1:3000:3000",
    ]
    assert "replicas: 2" in config
    assert "redis://:replace-with-a-long-random-password@redis:6379/0" in config


def published_ports(compose_source: str) -> list[str]:
    """Every entry of every ``ports:`` list in the compose file, as written."""
    ports: list[str] = []
    lines = compose_source.splitlines()
    for index, line in enumerate(lines):
        if line.strip() != "ports:":
            continue
        for entry in lines[index + 1 :]:
            if not entry.strip().startswith("- "):
                break
            ports.append(entry.strip()[2:].strip('"'))
    return ports


def test_the_ollama_profile_adds_a_local_model_not_started_by_default(tmp_path: Path) -> None:
    compose_config(tmp_path)
    quiet = docker_compose(tmp_path, "--profile", "ollama", "config", "-q")
    assert quiet.returncode == 0, quiet.stderr
    with_model = docker_compose(tmp_path, "--profile", "ollama", "config").stdout
    assert "image: ollama/ollama" in with_model
    assert with_model.count("profiles:\n    - ollama\n") == 1  # started only with the profile


def test_the_monitoring_profile_adds_prometheus_and_a_provisioned_grafana(
    tmp_path: Path,
) -> None:
    compose_config(tmp_path)
    quiet = docker_compose(tmp_path, "--profile", "monitoring", "config", "-q")
    assert quiet.returncode == 0, quiet.stderr
    config = docker_compose(tmp_path, "--profile", "monitoring", "config").stdout
    assert "prom/prometheus" in config and "grafana/grafana" in config
    prometheus = (ROOT / "monitoring" / "prometheus.yml").read_text()
    assert "bot:9100" in prometheus and 'names: ["worker"]' in prometheus


def test_the_ha_profile_adds_two_replicas_and_three_sentinels(tmp_path: Path) -> None:
    compose_config(tmp_path)
    quiet = docker_compose(tmp_path, "--profile", "ha", "config", "-q")
    assert quiet.returncode == 0, quiet.stderr
    config = docker_compose(tmp_path, "--profile", "ha", "config").stdout
    services = ("redis-replica:", "redis-replica-2:", "sentinel-1:", "sentinel-2:", "sentinel-3:")
    for service in services:
        assert f"\n  {service}\n" in config
    assert config.count("profiles:\n    - ha\n") == 5  # started only with the profile
    # A node asks the Sentinels first: a failed primary comes back as a replica.
    compose = (ROOT / "docker-compose.yml").read_text()
    assert "sentinel get-master-addr-by-name batchbot" in compose
    assert '--replicaof "$$primary" 6379' in compose and "REPLICA_OF: redis\n" in config
    assert "sentinel monitor batchbot redis 6379 2" in config


def test_compose_refuses_to_start_redis_without_a_password(tmp_path: Path) -> None:
    compose_config(tmp_path)
    env = (tmp_path / ".env").read_text()
    (tmp_path / ".env").write_text(re.sub(r"(?m)^REDIS_PASSWORD=.*$", "", env))
    finished = docker_compose(tmp_path, "config", "-q")
    assert finished.returncode != 0
    assert "set REDIS_PASSWORD in .env" in finished.stderr


def test_env_example_and_readme_name_every_setting() -> None:
    example = (ROOT / ".env.example").read_text()
    named = set(re.findall(r"(?m)^#? ?([A-Z][A-Z0-9_]+)=", example))
    assert named == every_setting() | COMPOSE_ONLY_VARIABLES
    readme = (ROOT / "README.md").read_text()
    undocumented = {name for name in every_setting() if f"`{name}`" not in readme}
    assert not undocumented, "add these to the README's configuration table"


@pytest.mark.parametrize("dockerfile", ["Dockerfile.bot", "Dockerfile.worker"])
def test_images_run_as_non_root_with_a_healthcheck_and_every_package(dockerfile: str) -> None:
    text = (ROOT / dockerfile).read_text()
    assert text.startswith("#") and "FROM python:3.11-slim" in text
    assert re.search(r"(?m)^USER batchbot$", text)
    assert re.search(r"(?m)^HEALTHCHECK ", text)
    # Dependencies come from the lock, hashes checked, before any code is copied, so that
    # layer is cached and every build installs the same versions.
    locked = "pip install --no-cache-dir --require-hashes -r requirements.lock"
    assert text.index(locked) < text.index("COPY shared shared")
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = [
        p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    ]
    for package in packages:
        assert f"COPY {package} {package}" in text, f"{dockerfile} misses {package}"
    # Installed once, from /app: no second copy in site-packages, no unhashed download.
    assert "pip install --no-cache-dir --no-deps ." not in text
    assert re.search(r"(?m)^\s+PYTHONPATH=/app$", text)  # importable from any directory
    assert re.search(r"(?m)^RUN python -m compileall -q " + " ".join(packages) + "$", text)


def test_the_build_context_leaves_out_what_no_image_needs() -> None:
    """Without .dockerignore the context carried .venv (hundreds of MB), .git and .env (the
    operator's secrets) into every build."""
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", ".env", "tests"} <= set(ignored)
    copied = re.findall(r"(?m)^COPY (\S+) ", (ROOT / "Dockerfile.bot").read_text())
    assert not set(copied) & set(ignored), "an image copies something the context leaves out"


def check_lock(folder: Path) -> subprocess.CompletedProcess[str]:
    script = ROOT / "scripts" / "check_lock.py"
    return subprocess.run(
        [sys.executable, str(script), str(folder)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_lock_check_fails_when_pyproject_gains_a_dependency_not_locked(
    tmp_path: Path,
) -> None:
    for name in ("pyproject.toml", "requirements.lock", "requirements-dev.lock"):
        shutil.copy(ROOT / name, tmp_path / name)
    assert check_lock(tmp_path).returncode == 0, "the repository's own lock must agree"
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    assert "--require-hashes" in setup and "-r requirements-dev.lock" in setup

    pyproject = (tmp_path / "pyproject.toml").read_text()
    added = pyproject.replace("dependencies = [\n", 'dependencies = [\n    "leftpad>=1.0",\n', 1)
    narrowed = added.replace('"httpx>=0.28,<0.29"', '"httpx>=0.29"')
    (tmp_path / "pyproject.toml").write_text(narrowed)
    refused = check_lock(tmp_path)
    assert refused.returncode == 1
    assert "leftpad is in pyproject.toml but not in requirements.lock" in refused.stderr
    assert "pins httpx==0.28" in refused.stderr
    assert "outside pyproject.toml's >=0.29" in refused.stderr
    assert "run ./scripts/lock" in refused.stderr


async def test_the_example_backend_stops_cleanly_on_sigterm() -> None:
    """In compose it is its container's PID 1, where a signal with no handler is ignored:
    without one, `docker compose down` waited 10 s and killed it (exit 137)."""
    port = free_port()
    command = [sys.executable, "-m", "sandbox.example_backend", "--port", str(port)]
    ready = b"example backend listening"
    backend = await ChildProcess.launch(command, dict(os.environ), ready, with_stdout=True)
    assert await backend.stop(signal.SIGTERM) == 0, backend.log_tail()
    assert backend.logged(b"example backend stopped")


def _bot_healthcheck_command() -> list[str]:
    """The HEALTHCHECK command of Dockerfile.bot, run with this interpreter."""
    text = (ROOT / "Dockerfile.bot").read_text()
    match = re.search(r"(?ms)^HEALTHCHECK .*?CMD (\[.*?\])$", text)
    assert match, "Dockerfile.bot has no HEALTHCHECK CMD [...]"
    command: list[str] = json.loads(match.group(1))
    assert command[0] == "python"
    return [sys.executable, *command[1:]]


async def test_the_bot_images_healthcheck_passes_when_bot_metrics_port_turns_it_off(
    redis_server: RedisServer, telegram: TelegramStandIn
) -> None:
    """BOT_METRICS_PORT=0 turns /healthz off: the check passes instead of marking a running
    bot unhealthy forever. With the port on, it asks the running bot."""

    def run(port: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "BOT_METRICS_PORT": port}
        return subprocess.run(_bot_healthcheck_command(), env=env, capture_output=True,
                              text=True, timeout=30, check=False)  # fmt: skip

    off = await asyncio.to_thread(run, "0")
    assert off.returncode == 0 and "BOT_METRICS_PORT=0" in off.stdout
    port = str(free_port())
    nobody = await asyncio.to_thread(run, port)
    assert nobody.returncode == 1 and "did not answer" in nobody.stdout
    bot, ops_port = await launch_polling_bot(redis_server.url, telegram)
    try:
        running = await asyncio.to_thread(run, str(ops_port))
    finally:
        assert await bot.stop() == 0
    assert running.returncode == 0, running.stdout


EVERY_PYTHON_CLAIMED = ["3.11.0", "3.11.2", "3.11.3", "3.12.0", "3.13.0"]
"""requires-python is >=3.11: patch releases where a dependency's markers change, and the
minors after it (Debian 12's python3 is 3.11.2)."""


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-dev.lock"])
def test_the_lock_holds_on_every_python_the_project_claims(lock: str) -> None:
    """A hash-checked install stops at a dependency the lock lacks. The lock is compiled on
    one Python; each pinned package's own requirements, with their markers evaluated for
    every Python the project claims, must be pinned too (redis needs async-timeout before
    3.11.3: a build on 3.11.2 stopped with "all requirements must have their versions
    pinned")."""
    text = (ROOT / lock).read_text()
    pinned = {canonicalize_name(name) for name in re.findall(r"(?m)^([A-Za-z0-9._-]+)==", text)}
    missing = set()
    for name in pinned:
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue  # not installed here (e.g. a dev tool's platform-only dependency)
        for raw in requires:
            needed = Requirement(raw)
            for version in EVERY_PYTHON_CLAIMED:
                env = {"python_full_version": version, "python_version": version[:4], "extra": ""}
                applies = needed.marker is None or needed.marker.evaluate(env)
                if applies and canonicalize_name(needed.name) not in pinned:
                    missing.add(f"{needed.name} (for {name} on Python {version})")
    assert not missing, f"{lock} lacks: {sorted(missing)}; add it to pyproject.toml"
