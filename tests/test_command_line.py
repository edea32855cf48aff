"""The command-line tools as a shell uses them: ``batchctl dead-letters list | head -1``
ends quietly (a reader that has what it wanted is no Redis problem), and
``python -m shared.schema --help`` explains itself without rewriting ``schemas/``."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from redis.asyncio import Redis

from sandbox.redis_server import RedisServer
from shared.keys import DEAD_LETTERS_INDEX, dead_letter_key

ROOT = Path(__file__).resolve().parent.parent


async def test_a_closed_pipe_ends_batchctl_quietly(redis: Redis, redis_server: RedisServer) -> None:
    async with redis.pipeline(transaction=False) as pipe:
        for n in range(1500):  # well over a pipe's 64 KiB buffer once listed
            batch_id = f"batch-{n:05d}"
            pipe.hset(
                dead_letter_key(batch_id),
                mapping={
                    "batch_id": batch_id,
                    "conversation": str(1000 + n),
                    "reason": "backend answered 500: internal error",
                    "failed_at": str(1_700_000_000_000 + n),
                    "messages": "[]",
                    "chat": json.dumps({"id": 1000 + n, "type": "private"}),
                    "user": json.dumps({"id": 1000 + n, "first_name": "P"}),
                },
            )
            pipe.zadd(DEAD_LETTERS_INDEX, {batch_id: 1_700_000_000_000 + n})
        await pipe.execute()
    head = await asyncio.to_thread(
        subprocess.run,
        f"set -o pipefail; {sys.executable} -m batchctl dead-letters list --limit 1500 | head -1",
        shell=True,
        executable="/bin/bash",
        env={**os.environ, "REDIS_URL": redis_server.url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert head.stdout.startswith("batch-01499 "), head.stdout
    assert head.stderr == "", head.stderr
    assert head.returncode == 0


def test_schema_help_writes_nothing_and_check_compares() -> None:
    schemas = sorted((ROOT / "schemas").glob("*.json"))
    before = {path: path.stat().st_mtime_ns for path in schemas}
    helped = subprocess.run(
        [sys.executable, "-m", "shared.schema", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert helped.stdout.startswith("usage: python -m shared.schema")
    assert "wrote" not in helped.stdout
    checked = subprocess.run(
        [sys.executable, "-m", "shared.schema", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout
    assert {path: path.stat().st_mtime_ns for path in schemas} == before


def test_worker_check_needs_redis_only(redis_server: RedisServer) -> None:
    """A container healthcheck runs it with the worker's environment, but it reads Redis
    only: without BACKEND_URL it still answers, here 'no worker' (none runs)."""
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("BACKEND_", "BOT_TOKEN"))
    }
    checked = subprocess.run(
        [sys.executable, "-m", "worker", "--check"],
        env={**environment, "REDIS_URL": redis_server.url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 1
    assert checked.stdout.startswith("unhealthy: no worker on "), checked
    assert "BACKEND_URL" not in checked.stdout + checked.stderr
