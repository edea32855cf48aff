"""``./scripts/demo --web``: the sandbox in the browser, and the operations console beside it.

The same sandbox as the terminal demo (:mod:`sandbox.stack`), plus the chat page on
loopback and ``python -m batchctl console`` with a token made for this run, so replaying
a dead letter can be tried too. Runs until Ctrl-C.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import socket
import sys
from collections.abc import Callable

from aiohttp import web
from redis.asyncio import Redis

from sandbox.launcher import ChildProcess
from sandbox.stack import sandbox_running
from sandbox.web_chat import ChatPage
from sandbox.web_people import HANDOFF_SECONDS, StandIns
from sandbox.web_timeline import Timeline
from shared.stopping import until_stopped

SHUTDOWN_SECONDS = 3.0
"""How long open pages may hold the chat page's shutdown (a page's event stream never ends)."""
WINDOW_SECONDS = 3.0
"""Long enough to watch the deadline bar jump back as you type."""


async def _console(
    env: dict[str, str], token: str, port: int, say: Callable[[str], None]
) -> tuple[ChildProcess, str]:
    def relay(line: str) -> None:
        if " console: " in line or "Traceback" in line:
            say(f"  [console] {line}")

    command = [sys.executable, "-m", "batchctl", "console", "--port", str(port)]
    child = await ChildProcess.launch(
        command,
        {**env, "BATCHCTL_CONSOLE_TOKEN": token},
        b"batchctl console: http",
        name="console",
        on_line=relay,
        with_stdout=True,
    )
    found = re.search(rb"http://[\d.]+:\d+/", bytes(child.log))
    assert found is not None
    return child, found.group().decode()


class PortTaken(SystemExit):
    """A port the demo was told to use is busy: one line naming the option, exit 1."""


def _bind(port: int, option: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as error:
        sock.close()
        print(
            f"demo: cannot listen on 127.0.0.1:{port} ({error.strerror}); choose another "
            f"with {option} (0 takes any free port)",
            file=sys.stderr,
        )
        raise PortTaken(1) from None
    return sock


async def run_web(
    port: int,
    console_port: int,
    say: Callable[[str], None],
    window_seconds: float = WINDOW_SECONDS,
) -> None:
    """Both ports are checked before anything starts, so a busy one costs no waiting."""
    page_socket = _bind(port, "--port")
    _bind(console_port, "--console-port").close()  # the console binds it again itself
    try:
        await _run_web(page_socket, console_port, say, window_seconds)
    finally:
        page_socket.close()


async def _run_web(
    page_socket: socket.socket,
    console_port: int,
    say: Callable[[str], None],
    window_seconds: float,
) -> None:
    async with sandbox_running(
        say,
        batch_window_seconds=window_seconds,
        batch_max_wait_seconds=30,
        # A failing backend becomes a dead letter in seconds rather than minutes.
        backend_retry_base_seconds=1,
        backend_retry_budget_seconds=8,
        handoff_seconds=HANDOFF_SECONDS,
        history_turns=10,
        draft_reasoning=True,  # the "reasons" mode shows it above the answer
    ) as sandbox:
        redis = Redis.from_url(sandbox.redis_url)
        token = secrets.token_urlsafe(18)
        console, console_url = await _console(sandbox.env, token, console_port, say)
        stand_ins = StandIns(
            sandbox.telegram, sandbox.whatsapp, sandbox.instagram, sandbox.messenger
        )
        timeline = Timeline(stand_ins, redis)
        sandbox.backend.on_exchange = timeline.backend_exchange
        page = ChatPage(stand_ins, sandbox.backend, timeline, console_url, window_seconds)
        watching = asyncio.create_task(timeline.watch_forever())
        hearing = asyncio.create_task(timeline.hear_abandoned_forever())
        runner = web.AppRunner(page.app(), access_log=None, shutdown_timeout=SHUTDOWN_SECONDS)
        await runner.setup()
        await web.SockSite(runner, page_socket).start()
        chat_url = f"http://127.0.0.1:{runner.addresses[0][1]}/"
        try:
            say(f"chat page: {chat_url}")
            say(f"operations console: {console_url} (token for replay and purge: {token})")
            say("open them in a browser; Ctrl-C stops everything")
            await until_stopped()
        finally:
            watching.cancel()
            hearing.cancel()
            await timeline.close()
            await runner.cleanup()
            await console.stop()
            await redis.aclose()
