"""The operations console's data and HTTP API against a real redis-server: what a refresh
reports for each state a batch can be in, who may replay or purge, and its start-up
errors. (The page itself is driven in Chromium by tests/test_pages.py.)"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from importlib import resources
from socket import gethostname

import httpx
import pytest
from aiohttp import web
from redis.asyncio import Redis

from batchctl.console import ConsoleSettings, serve
from batchctl.console_state import console_state
from sandbox.redis_server import RedisServer
from shared.arq_layout import health_check_key
from shared.handoff import Handoffs
from shared.keys import WORKERS, stats_key
from shared.models import Chat, IncomingMessage, MessageKind, User
from shared.rules import BatchingRules
from shared.store import BatchStore
from tests.conftest import SettingsFactory, WorkerProcess

TOKEN = "console-token-for-tests-0123"
RULES = BatchingRules(
    window_ms=60_000,
    max_wait_ms=120_000,
    max_messages=10,
    max_pending_messages=200,
    max_pending_bytes=1_048_576,
    max_message_bytes=65_536,
)


def text(message_id: int, words: str) -> IncomingMessage:
    return IncomingMessage(
        message_id=message_id, date=datetime.now(UTC), kind=MessageKind.TEXT, text=words
    )


async def store_message(store: BatchStore, user: int, message_id: int, words: str) -> None:
    chat, person = Chat(id=user, type="private"), User(id=user, first_name=f"P{user}")
    await store.append(str(user), chat, person, text(message_id, words), RULES)


async def three_states(redis: Redis) -> None:
    """Conversation 1 waits; 2 is claimed (its backend call running); 3 is a dead letter."""
    store = BatchStore(redis, 7 * 86400)
    for user in (1, 2, 3):
        await store_message(store, user, 1, f"hello from {user}")
    due_now = dataclasses.replace(RULES, max_messages=1)
    for user in (2, 3):
        chat, person = Chat(id=user, type="private"), User(id=user, first_name=f"P{user}")
        await store.append(str(user), chat, person, text(2, "now"), due_now)
        outcome = await store.claim(
            str(user), max_messages=10, recheck_after_ms=60_000, lease_ms=60_000
        )
        assert outcome.batch is not None
        if user == 3:
            await store.release(outcome.batch, dead_letter_reason="backend answered 500")


async def test_a_refresh_reports_waiting_running_dead_and_workers(redis: Redis) -> None:
    await three_states(redis)
    await redis.zadd(WORKERS, {"host-a:port9101": 1, "host-b:pid42": 1})
    await redis.set(health_check_key("host-a", "port9101"), "j_complete=3 queued=0")

    state = await console_state(redis)

    assert state["totals"] == {"pending_conversations": 2, "batches_running": 1, "dead_letters": 1}
    [waiting] = state["pending"]
    assert (waiting["conversation"], waiting["pending_messages"]) == ("1", 1)
    assert waiting["deadline_ms"] > state["now_ms"]
    [running] = state["in_flight"]
    assert running["conversation"] == "2"
    assert running["batch"]["step"] == "asking the backend"
    assert running["batch"]["messages"] == 2
    [letter] = state["dead_letters"]
    assert (letter["conversation"], letter["reason"], letter["messages"]) == (
        "3",
        "backend answered 500",
        2,
    )
    workers = {w["worker"]: w["up"] for w in state["workers"]}
    assert workers == {"host-a:port9101": True, "host-b:pid42": False}
    # Counted by the scripts themselves, in the stats hash of the minute (or two) it took.
    assert sum(state["rates"]["messages_in"][-2:]) == 5
    assert sum(state["rates"]["dead_letters"][-2:]) == 1


async def test_the_scripts_name_each_minute_as_python_does(redis: Redis) -> None:
    lib = resources.files("shared").joinpath("lua", "lib.lua").read_text()
    probe = redis.register_script(lib + "return utc_minute_of(tonumber(ARGV[1]))")
    # Around leap days, year and century ends, and today.
    for moment in (
        "2024-02-28T23:59:59",
        "2024-02-29T00:00:00",
        "2024-03-01T12:34:56",
        "2025-12-31T23:59:00",
        "2026-01-01T00:00:00",
        "2100-03-01T00:01:00",
        datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
    ):
        at_ms = int(datetime.fromisoformat(moment).replace(tzinfo=UTC).timestamp() * 1000)
        assert "stats:" + (await probe(args=[at_ms])).decode() == stats_key(at_ms), moment


@pytest.fixture
async def console_urls(redis_server: RedisServer, redis: Redis) -> AsyncIterator[dict[str, str]]:
    """Three consoles on one Redis: read-only, with a token, and served beyond loopback."""
    runners: list[web.AppRunner] = []
    urls = {}
    for name, token, host in (
        ("read-only", None, "127.0.0.1"),
        ("token", TOKEN, "127.0.0.1"),
        ("beyond-loopback", TOKEN, "0.0.0.0"),
    ):
        settings = ConsoleSettings(redis_url=redis_server.url, batchctl_console_token=token)
        runner = await serve(settings, redis, host, 0)
        runners.append(runner)
        urls[name] = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield urls
    for runner in runners:
        await runner.cleanup()


async def test_replay_and_purge_need_the_token_and_reading_beyond_loopback_too(
    redis: Redis, console_urls: dict[str, str]
) -> None:
    await three_states(redis)
    async with httpx.AsyncClient() as http:
        [letter] = (await http.get(console_urls["token"] + "/api/state")).json()["dead_letters"]
        replay = f"/api/dead-letters/{letter['batch_id']}/replay"

        refused = await http.post(console_urls["read-only"] + replay)
        assert refused.status_code == 403
        assert "BATCHCTL_CONSOLE_TOKEN" in refused.json()["error"]
        missing = await http.post(console_urls["token"] + replay)
        assert (missing.status_code, missing.json()["error"]) == (
            401,
            "this needs the console token (BATCHCTL_CONSOLE_TOKEN)",
        )
        wrong = await http.post(
            console_urls["token"] + replay, headers={"Authorization": "Bearer not-it"}
        )
        assert (wrong.status_code, wrong.json()["error"]) == (401, "wrong console token")
        # The page checks a token as it is entered.
        not_it = {"Authorization": "Bearer not-it"}
        assert (
            await http.get(console_urls["token"] + "/api/token", headers=not_it)
        ).status_code == 401
        assert (await http.get(console_urls["read-only"] + "/api/token")).status_code == 403
        good = {"Authorization": f"Bearer {TOKEN}"}
        accepted = await http.get(console_urls["token"] + "/api/token", headers=good)
        assert accepted.json()["result"] == "token accepted: replay and purge allowed"
        assert await redis.zcard("dead-letters") == 1

        bearer = {"Authorization": f"Bearer {TOKEN}"}
        done = await http.post(console_urls["token"] + replay, headers=bearer)
        assert done.json()["result"] == "2 message(s) queued again, due now"
        assert await redis.zcard("dead-letters") == 0
        assert await redis.llen("batch:3") == 2  # type: ignore[misc]
        again = await http.post(console_urls["token"] + replay, headers=bearer)
        assert again.status_code == 404

        assert (await http.get(console_urls["read-only"] + "/api/state")).status_code == 200
        beyond = console_urls["beyond-loopback"] + "/api/state"
        assert (await http.get(beyond)).status_code == 401
        assert (await http.get(beyond, headers=bearer)).status_code == 200
        assert (
            await http.get(console_urls["token"] + "/static/..%2Fconsole.py")
        ).status_code == 404


async def test_a_conversation_a_human_has_is_listed_and_resumed_only_with_the_token(
    redis: Redis, console_urls: dict[str, str]
) -> None:
    await store_message(BatchStore(redis, 7 * 86400), 4, 1, "can I speak to someone?")
    await Handoffs(redis, 7 * 86400).take_over("4", "api", 600, "Hi, Sam here")
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient() as http:
        state = (await http.get(console_urls["token"] + "/api/state")).json()
        [row] = state["paused"]
        assert (row["conversation"], row["source"], row["held"]) == ("4", "api", 2)
        assert state["pending"] == []  # held for the human, not waiting for a batch
        resume = "/api/handoffs/4/resume"
        assert (await http.post(console_urls["read-only"] + resume)).status_code == 403
        assert (await http.post(console_urls["token"] + resume)).status_code == 401
        done = await http.post(console_urls["token"] + resume, headers=bearer)
        assert done.json() == {"conversation": "4", "result": "handed back"}
        assert (await http.get(console_urls["token"] + "/api/state")).json()["paused"] == []
        again = await http.post(console_urls["token"] + resume, headers=bearer)
        assert again.status_code == 404


def run_console(redis_server: RedisServer, *args: str, token: str | None) -> str:
    env = {**os.environ, "REDIS_URL": redis_server.url}
    env.pop("BATCHCTL_CONSOLE_TOKEN", None)
    if token is not None:
        env["BATCHCTL_CONSOLE_TOKEN"] = token
    finished = subprocess.run(
        [sys.executable, "-m", "batchctl", "console", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 1, finished
    return finished.stderr


def test_start_up_refuses_beyond_loopback_without_a_token_and_a_short_token(
    redis_server: RedisServer,
) -> None:
    beyond = run_console(redis_server, "--host", "0.0.0.0", "--port", "0", token=None)
    assert "set BATCHCTL_CONSOLE_TOKEN" in beyond and "Traceback" not in beyond
    short = run_console(redis_server, "--port", "0", token="short")
    assert "BATCHCTL_CONSOLE_TOKEN" in short and "at least 16" in short
    assert "short" not in short.replace("BATCHCTL", ""), "the token itself is not echoed"


async def test_a_stopped_worker_reads_stopped_and_a_killed_one_down(
    redis: Redis, make_settings: SettingsFactory
) -> None:
    settings = make_settings(worker_health_check_interval_seconds=1)
    stopped, killed = await asyncio.gather(*(WorkerProcess.start(settings) for _ in range(2)))
    async with asyncio.timeout(30):
        while len([w for w in (await console_state(redis))["workers"] if w["up"]]) < 2:
            await asyncio.sleep(0.1)
    assert await stopped.stop(signal.SIGTERM) == 0
    await killed.stop(signal.SIGKILL)
    async with asyncio.timeout(30):  # a killed worker's health key lapses a second later
        while any(w["up"] for w in (await console_state(redis))["workers"]):
            await asyncio.sleep(0.1)
    states = {w["worker"]: w["state"] for w in (await console_state(redis))["workers"]}
    assert states == {
        f"{gethostname()}:pid{stopped.pid}": "stopped",
        f"{gethostname()}:pid{killed.pid}": "down",
    }
