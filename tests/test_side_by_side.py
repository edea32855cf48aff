"""Several workers on one host, started the way the README says, with default settings."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys

import httpx
from redis.asyncio import Redis

from sandbox.example_backend import ExampleBackend
from sandbox.launcher import ChildProcess, launch_together
from sandbox.redis_server import RedisServer
from sandbox.telegram_api import Person, TelegramStandIn
from shared import arq_layout
from tests.conftest import wait_until_idle

EVA = Person(id=5505, first_name="Eva")


async def test_three_workers_on_one_host_each_serve_metrics_and_answer_once(
    redis_server: RedisServer, redis: Redis, telegram: TelegramStandIn, backend: ExampleBackend
) -> None:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("WORKER_METRICS_PORT", "BOT_METRICS_PORT")  # the defaults, as shipped
    }
    env.update(
        {
            "BOT_TOKEN": telegram.token,
            "TELEGRAM_API_URL": telegram.url,
            "REDIS_URL": redis_server.url,
            "BACKEND_URL": backend.url,
            "BATCH_WINDOW_SECONDS": "0.5",
            "METRICS_HOST": "127.0.0.1",
        }
    )
    worker = [sys.executable, "-m", "worker"]
    arq_cli = [sys.executable, "-m", "arq", "worker.main.WorkerSettings"]
    workers = await launch_together(
        [
            ChildProcess.launch(command, env, b"Starting worker")
            for command in (worker, worker, arq_cli)
        ]
    )
    bot = await ChildProcess.launch([sys.executable, "-m", "bot"], env, b"Run polling")
    try:
        pattern = arq_layout.health_check_keys_of(socket.gethostname())
        async with asyncio.timeout(30):
            while len(keys := [k async for k in redis.scan_iter(match=pattern)]) < 3:
                await asyncio.sleep(0.1)
        ports = sorted(int(key.decode().rsplit(":port", 1)[1]) for key in keys)
        assert len(set(ports)) == 3
        async with httpx.AsyncClient() as http:
            for port in ports:
                metrics = await http.get(f"http://127.0.0.1:{port}/metrics")
                assert metrics.status_code == 200
                assert "batchbot_batches_total" in metrics.text
        check = await asyncio.to_thread(
            subprocess.run,
            [*worker, "--check"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert check.returncode == 0, check.stdout + check.stderr
        assert (
            sorted(int(line.split(":port")[1].split()[0]) for line in check.stdout.splitlines())
            == ports
        )

        for text in ("hi", "can I book", "a haircut"):
            await telegram.person_says(EVA, text)
        replies = await telegram.wait_for_messages(EVA.id, 1)
        await wait_until_idle(redis)
    finally:
        codes = [await child.stop() for child in (bot, *workers)]
    assert len(backend.calls) == 1
    assert replies == telegram.messages_to(EVA.id)
    assert codes == [0, 0, 0, 0]
    for child in (bot, *workers):
        assert not child.logged(b"Traceback"), child.log_tail()
    for worker_process in workers:  # ARQ's CLI too: each line once, through batchbot's handler
        assert worker_process.log.count(b"Starting worker for 1 functions") == 1
        assert worker_process.log.count(b"wait complete") == 1  # its summary at the stop
