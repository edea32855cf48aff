"""Driving the pages in a real browser: Debian's Chromium under Playwright, and the browser
demo (``python -m sandbox --web``) as one process for a whole test module.

Playwright is given the system's Chromium with ``executable_path``: it never downloads a
browser. ``./scripts/test`` installs Chromium when it is missing.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_FLAGS = [
    "--no-sandbox",  # the suite may run as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEMO_START_SECONDS = 90.0


def chromium_path() -> str:
    found = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    found = found or shutil.which("chromium-browser")
    assert found, "Chromium not found: ./scripts/test installs it (apt-get install chromium)"
    return found


@dataclass
class RunningDemo:
    """``python -m sandbox --web`` and what it printed: the pages' addresses, the token."""

    process: subprocess.Popen[str]
    chat_url: str
    console_url: str
    console_token: str
    output: list[str]

    def stop(self) -> int:
        """SIGTERM, as an operator's Ctrl-C or a supervisor would; the demo stops its bot,
        workers, console and redis-server itself. Its exit code; a demo that hangs fails
        the test after its whole process group is killed, so nothing is left behind."""
        self.process.terminate()
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            raise AssertionError("the web demo did not stop within 30 s of SIGTERM") from None

    def leftovers(self) -> list[str]:
        """Processes of its group still running (none, once it has stopped)."""
        listing = subprocess.run(
            ["ps", "-o", "pid=,args=", "-g", str(self.process.pid)],
            capture_output=True,
            text=True,
            check=False,
        )
        return [line.strip() for line in listing.stdout.splitlines() if line.strip()]


WINDOW = ["--window", "6"]
"""Longer than the demo's 3 s: a test clicks at a person's speed, and on a loaded machine
one click took over 3 s, which split an album from the message before it."""


def start_web_demo() -> RunningDemo:
    """Start the browser demo on free ports; fails with its output if it does not come up."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--web", "--port", "0", "--console-port", "0", *WINDOW],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "REDIS_URL"},
        start_new_session=True,  # its own process group: see stop()
    )
    output: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line.rstrip())
            if "operations console: http" in line:
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + DEMO_START_SECONDS
    while not ready.wait(0.2):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError("the web demo did not start:\n" + "\n".join(output[-40:]))
    text = "\n".join(output)
    chat = re.search(r"chat page: (http://\S+)", text)
    console = re.search(
        r"operations console: (http://\S+) \(token for replay and purge: (\S+)\)", text
    )
    assert chat and console, text
    return RunningDemo(process, chat.group(1), console.group(1), console.group(2), output)
