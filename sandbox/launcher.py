"""Starting product processes (bot, workers, tools) for the demo, benchmarks and tests.

A process counts as started when its log (stderr) shows a given line. If it exits
first, or the line does not come in time, :class:`LaunchFailed` says so with the end
of its log, instead of a caller waiting forever. Its log is read to the end, so a
full pipe never stalls it; each line is kept for searching and may be shown as well.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable, Sequence
from typing import Self, TypeVar

STARTUP_TIMEOUT_SECONDS = 60.0
LOG_TAIL_CHARACTERS = 3000


class LaunchFailed(RuntimeError):
    """A process ended, or stayed silent too long, before logging what was awaited."""


class ChildProcess:
    """A running product process and everything it has logged so far."""

    def __init__(
        self, process: asyncio.subprocess.Process, name: str, on_line: Callable[[str], None] | None
    ) -> None:
        self.process = process
        self.name = name
        self.log = bytearray()
        self._on_line = on_line
        self._logged = asyncio.Event()
        self._ended = False
        self._reader = asyncio.create_task(self._read_log())

    @classmethod
    async def launch(
        cls,
        command: Sequence[str],
        env: dict[str, str],
        ready: bytes,
        *,
        name: str | None = None,
        on_line: Callable[[str], None] | None = None,
        timeout_seconds: float = STARTUP_TIMEOUT_SECONDS,
        with_stdout: bool = False,
    ) -> Self:
        """Start ``command`` and return once its log shows ``ready``; ``with_stdout`` reads
        what it prints as part of its log.

        A launch that fails or is cancelled meanwhile (a benchmark's fault task stopped in
        the middle of a restart) kills its process: nothing else knows of it, and it would
        outlive the run that started it."""
        pipe, merged = asyncio.subprocess.PIPE, asyncio.subprocess.STDOUT
        process = await asyncio.create_subprocess_exec(
            *command,
            env=env,
            stdout=pipe if with_stdout else asyncio.subprocess.DEVNULL,
            stderr=merged if with_stdout else pipe,
        )
        child = cls(process, name or " ".join(command[-2:]), on_line)
        try:
            await child.wait_for_log(ready, timeout_seconds)
        except BaseException:
            await child.stop(signal.SIGKILL)
            raise
        return child

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    def logged(self, text: bytes) -> bool:
        return text in self.log

    async def wait_for_log(
        self, text: bytes, timeout_seconds: float = STARTUP_TIMEOUT_SECONDS, count: int = 1
    ) -> None:
        """Until the log shows ``text`` (``count`` times); LaunchFailed if the process ends
        or time runs out."""
        try:
            async with asyncio.timeout(timeout_seconds):
                while self.log.count(text) < count:
                    if self._ended:
                        await self.process.wait()
                        raise LaunchFailed(
                            f"{self.name} exited with code {self.process.returncode} before "
                            f"logging {text.decode()!r}; the end of its log:\n{self.log_tail()}"
                        )
                    self._logged.clear()
                    await self._logged.wait()
        except TimeoutError:
            raise LaunchFailed(
                f"{self.name} did not log {text.decode()!r} within {timeout_seconds:g}s; "
                f"the end of its log:\n{self.log_tail()}"
            ) from None

    def log_tail(self) -> str:
        return self.log[-LOG_TAIL_CHARACTERS:].decode(errors="replace")

    async def _read_log(self) -> None:
        log = self.process.stderr or self.process.stdout  # stdout when merged into it
        assert log is not None
        while line := await log.readline():
            self.log.extend(line)
            if self._on_line is not None:
                self._on_line(line.decode(errors="replace").rstrip())
            self._logged.set()
        self._ended = True
        self._logged.set()

    def send_signal(self, sig: int) -> None:
        if self.process.returncode is None:
            self.process.send_signal(sig)

    async def wait(self) -> int:
        """Until the process has exited and its whole log is read; its exit code."""
        code = await self.process.wait()
        await self._reader
        return code

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        """Signal the process (unless it has ended) and wait for it and its log."""
        self.send_signal(sig)
        return await self.wait()


Launched = TypeVar("Launched", bound=ChildProcess)


async def launch_together(launches: Sequence[Awaitable[Launched]]) -> list[Launched]:
    """Launch several processes at once (each spends seconds importing); if any fails,
    stop the others and raise its error."""
    results: list[Launched | BaseException] = await asyncio.gather(
        *launches, return_exceptions=True
    )
    started = [result for result in results if not isinstance(result, BaseException)]
    failures = [result for result in results if isinstance(result, BaseException)]
    if failures:
        for child in started:
            await child.stop()
        raise failures[0]
    return started
