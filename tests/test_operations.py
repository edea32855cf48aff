"""What an operator sees: metrics, health, logs without secrets, an authenticated backend.

The main test runs ``python -m bot`` and ``python -m worker`` as people deploy them:
Redis with a password, a backend that insists on a bearer token and a valid signature,
JSON logs at DEBUG level, and metrics ports scraped over HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis

from sandbox.example_backend import ExampleBackend
from sandbox.launcher import ChildProcess
from sandbox.redis_server import RedisServer, free_port
from sandbox.telegram_api import Person, TelegramStandIn
from shared.ops_server import PORT_RANGE
from tests.conftest import launch_polling_bot, wait_until_idle

MONITORING = Path(__file__).resolve().parent.parent / "monitoring"
DEE = Person(id=4004, first_name="Dee")
REDIS_PASSWORD = "redis-password-8b1f"
BEARER_TOKEN = "bearer-token-7d2e9a"
SIGNING_SECRET = "signing-secret-5c3a0f61"
PRIVATE_WORDS = "my private thought"

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(port: int) -> Samples:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"http://127.0.0.1:{port}/metrics")
    response.raise_for_status()
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def healthz(port: int) -> tuple[int, dict[str, str]]:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
    return response.status_code, response.json()


def worker_check(env: dict[str, str]) -> int:
    """``python -m worker --check``, the command a container healthcheck runs."""
    command = [sys.executable, "-m", "worker", "--check"]
    return subprocess.run(command, env=env, capture_output=True, timeout=60, check=False).returncode


@pytest.fixture
async def password_redis() -> AsyncIterator[RedisServer]:
    server = RedisServer(password=REDIS_PASSWORD)
    server.start()
    yield server
    server.remove()


async def test_a_deployed_bot_and_worker_count_in_metrics_and_log_no_secrets(
    password_redis: RedisServer, telegram: TelegramStandIn
) -> None:
    backend = ExampleBackend(bearer_token=BEARER_TOKEN, signing_secret=SIGNING_SECRET)
    await backend.start()
    bot_port, worker_port = free_port(), free_port()
    env = {
        **os.environ,
        "BOT_TOKEN": telegram.token,
        "TELEGRAM_API_URL": telegram.url,
        "REDIS_URL": password_redis.url,
        "BACKEND_URL": backend.url,
        "BACKEND_BEARER_TOKEN": BEARER_TOKEN,
        "BACKEND_SIGNING_SECRET": SIGNING_SECRET,
        "BATCH_WINDOW_SECONDS": "0.5",
        "MESSAGE_MAX_BYTES": "1024",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "DEBUG",
        "BOT_METRICS_PORT": str(bot_port),
        "WORKER_METRICS_PORT": str(worker_port),
    }
    redis = Redis.from_url(password_redis.url)
    bot = await ChildProcess.launch([sys.executable, "-m", "bot"], env, b"Run polling")
    worker = await ChildProcess.launch([sys.executable, "-m", "worker"], env, b"Starting worker")
    try:
        assert await healthz(bot_port) == (200, {"status": "ok"})
        assert await healthz(worker_port) == (200, {"status": "ok"})
        assert worker_check(env) == 0

        await telegram.person_says(DEE, "hi")
        await telegram.person_says(DEE, PRIVATE_WORDS)
        await telegram.person_says(DEE, "x" * 2000)  # over MESSAGE_MAX_BYTES: refused
        await telegram.wait_for_messages(DEE.id, 1)
        await wait_until_idle(redis)
        backend.failure_status, backend.failure_body = 400, "no such model"
        await telegram.person_says(DEE, "this one fails")
        await telegram.wait_for_messages(DEE.id, 2)  # the answer, then the apology
        await wait_until_idle(redis)

        bot_metrics, worker_metrics = await scrape(bot_port), await scrape(worker_port)
        exposed = await exposition(bot_port) + await exposition(worker_port)
    finally:
        bot_code, worker_code = await bot.stop(), await worker.stop()
        await redis.aclose()
        await backend.stop()
    assert (bot_code, worker_code) == (0, 0), bot.log_tail()
    assert worker_check(env) == 1, "a stopped worker must fail its health check"

    # The backend authenticated every request it answered.
    assert backend.refused_unauthenticated == 0
    assert [len(call.request.messages) for call in backend.calls] == [2]

    check_bot_metrics(bot_metrics)
    check_worker_metrics(worker_metrics)
    check_every_dashboard_query_is_exposed(exposed)
    secrets = [telegram.token, REDIS_PASSWORD, BEARER_TOKEN, SIGNING_SECRET]
    for name, log in (("bot", bot.log.decode()), ("worker", worker.log.decode())):
        entries = [json.loads(line) for line in log.splitlines()]  # every line is JSON
        assert entries, name
        assert not [secret for secret in secrets if secret in log], f"{name} logged a secret"
        assert PRIVATE_WORDS not in log, f"{name} logged what a person wrote"
        if name == "worker":
            claimed = [e for e in entries if "claimed" in e["message"]]
            assert claimed
            assert all(e["conversation"] == str(DEE.id) and e["batch_id"] for e in claimed)


async def exposition(port: int) -> str:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"http://127.0.0.1:{port}/metrics")
    response.raise_for_status()
    return response.text


def check_every_dashboard_query_is_exposed(exposed: str) -> None:
    """Every series the Grafana dashboard queries is one the bot or a worker exposes (a
    labelled metric is declared by its TYPE line before its first sample); ``up`` is
    Prometheus's own, for the jobs monitoring/prometheus.yml scrapes."""
    series = set()
    for name, kind in re.findall(r"(?m)^# TYPE (\S+) (\S+)$", exposed):
        suffixes = ("_bucket", "_count", "_sum") if kind == "histogram" else ("",)
        series |= {name + suffix for suffix in suffixes}
    dashboard = json.loads((MONITORING / "grafana" / "dashboards" / "batchbot.json").read_text())
    queries = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    queried = {name for query in queries for name in re.findall(r"\bbatchbot_\w+", query)}
    assert len(queried) >= 10, queried
    assert not queried - series, f"the dashboard queries what nobody exposes: {queried - series}"
    jobs = set(re.findall(r"job_name: (\S+)", (MONITORING / "prometheus.yml").read_text()))
    for query in queries:
        for job in re.findall(r'up\{job="([^"]+)"\}', query):
            assert job in jobs, f"{job} is not scraped by monitoring/prometheus.yml"


def check_bot_metrics(samples: Samples) -> None:
    received = "batchbot_messages_received_total"
    assert value(samples, received, channel="telegram", kind="text") == 3
    refused = "batchbot_messages_refused_total"
    assert value(samples, refused, reason="message-too-large") == 1
    check_redis_gauges(samples)


def check_worker_metrics(samples: Samples) -> None:
    batches = "batchbot_batches_total"
    assert value(samples, batches, channel="telegram", outcome="answered") == 1
    assert value(samples, batches, channel="telegram", outcome="dead_letter") == 1
    assert value(samples, "batchbot_batch_messages_count") == 2
    assert value(samples, "batchbot_batch_messages_sum") == 3
    assert value(samples, "batchbot_batch_wait_seconds_count") == 2
    assert value(samples, "batchbot_batch_wait_seconds_sum") >= 2 * 0.5  # the window
    backend_seconds = "batchbot_backend_request_seconds_count"
    assert value(samples, backend_seconds, result="ok") == 1
    assert value(samples, backend_seconds, result="permanent") == 1
    dead = "batchbot_dead_letters_total"
    assert value(samples, dead, channel="telegram", cause="backend_rejected") == 1
    assert value(samples, "batchbot_reply_parts_sent_total", channel="telegram") == 1
    check_redis_gauges(samples)


def check_redis_gauges(samples: Samples) -> None:
    """Read from Redis at scrape time: the same in every process."""
    assert value(samples, "batchbot_dead_letters_stored") == 1
    assert value(samples, "batchbot_pending_conversations") == 0


async def test_bot_healthz_fails_while_redis_is_down(
    durable_redis: RedisServer, telegram: TelegramStandIn
) -> None:
    bot, port = await launch_polling_bot(durable_redis.url, telegram)
    try:
        assert await healthz(port) == (200, {"status": "ok"})
        durable_redis.stop()
        status, body = await healthz(port)
        assert status == 503
        assert body["status"] == "unhealthy"
        assert body["problem"].startswith("redis unreachable")
        durable_redis.start()
        assert await healthz(port) == (200, {"status": "ok"})
    finally:
        assert await bot.stop(signal.SIGTERM) == 0


async def test_a_worker_whose_metrics_ports_are_all_taken_exits_with_one_line(
    redis_server: RedisServer, telegram: TelegramStandIn, backend: ExampleBackend
) -> None:
    """A busy port moves to the next; when the whole range is taken, the worker says so
    in one line naming the setting and exits 1, with no traceback after it."""
    with ports_bound(PORT_RANGE) as first:
        env = {
            **os.environ,
            "BOT_TOKEN": telegram.token,
            "TELEGRAM_API_URL": telegram.url,
            "REDIS_URL": redis_server.url,
            "BACKEND_URL": backend.url,
            "WORKER_METRICS_PORT": str(first),
        }
        finished = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "worker"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert finished.returncode == 1
    [line] = finished.stderr.strip().splitlines()
    assert line.startswith(f"batchbot cannot start: WORKER_METRICS_PORT {first} and the 9 ports")
    assert "Traceback" not in finished.stderr


@contextlib.contextmanager
def ports_bound(count: int) -> Iterator[int]:
    """``count`` consecutive ports held open for the ``with`` block; yields the first."""
    for _ in range(50):
        first = free_port()
        held: list[socket.socket] = []
        try:
            for port in range(first, first + count):
                sock = socket.socket()
                held.append(sock)
                sock.bind(("0.0.0.0", port))
                sock.listen()
        except OSError:
            for sock in held:
                sock.close()
            continue
        try:
            yield first
        finally:
            for sock in held:
                sock.close()
        return
    raise RuntimeError("no run of free ports found")
