"""Starting processes: a launch that never completes leaves no process behind."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from sandbox.launcher import ChildProcess


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_a_launch_cancelled_before_its_ready_line_kills_the_process(
    tmp_path: Path,
) -> None:
    pid_file = tmp_path / "pid"
    never_ready = (
        f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    )
    launching = asyncio.create_task(
        ChildProcess.launch([sys.executable, "-c", never_ready], dict(os.environ), b"ready")
    )
    async with asyncio.timeout(30):
        while not (pid_file.exists() and pid_file.read_text()):
            await asyncio.sleep(0.01)  # polls for the child's start; no race hides behind it
    pid = int(pid_file.read_text())
    try:
        launching.cancel()
        with pytest.raises(asyncio.CancelledError):
            await launching
        assert not _alive(pid)
    finally:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
