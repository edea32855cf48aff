"""A throwaway redis-server on a free loopback port, which can be stopped and restarted."""

from __future__ import annotations

import ctypes
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

EPHEMERAL_PORTS = Path("/proc/sys/net/ipv4/ip_local_port_range")
PORTS_BELOW_EPHEMERAL = 12_000


def free_port() -> int:
    """A loopback port nothing is bound to, for a server started next.

    Chosen below the kernel's ephemeral range: a port from that range (what binding port
    0 hands out) can be taken as the local end of any outgoing connection, a Redis or HTTP
    client's, before the server it was meant for binds it ("address already in use").
    """
    first_ephemeral = first_ephemeral_port()
    low = max(1024, first_ephemeral - PORTS_BELOW_EPHEMERAL)
    pick = random.SystemRandom()
    for _ in range(200):
        port = pick.randrange(low, first_ephemeral)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free loopback port between {low} and {first_ephemeral - 1}")


def first_ephemeral_port() -> int:
    """Linux's from /proc; elsewhere the IANA range's start, which most systems use."""
    try:
        return int(EPHEMERAL_PORTS.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 49152


def redis_server_binary() -> str:
    """``REDIS_SERVER_BIN`` if set, else redis-server on PATH; a clear error otherwise."""
    configured = os.environ.get("REDIS_SERVER_BIN")
    found = configured or shutil.which("redis-server")
    if not found:
        raise RuntimeError(
            "redis-server not found: install it (Debian/Ubuntu: apt-get install redis-server; "
            "macOS: brew install redis) or set REDIS_SERVER_BIN to its path"
        )
    return found


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """PEM files for a TLS redis-server: its certificate and key, and the CA that signed it."""

    ca_cert: Path
    cert: Path
    key: Path


def until_it_answers(
    process: subprocess.Popen[bytes], client: redis.Redis, timeout_seconds: float, log: Path
) -> None:
    """Return once the just-started server answers PING; fail with its log if it ends or
    stays silent for ``timeout_seconds``. Closes ``client``."""
    give_up = time.monotonic() + timeout_seconds
    try:
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if process.poll() is not None or time.monotonic() > give_up:
                    text = log.read_text(errors="replace") if log.exists() else "(no log)"
                    raise RuntimeError(f"redis-server did not start:\n{text}") from None
                time.sleep(0.02)
    finally:
        client.close()


PR_SET_PDEATHSIG = 1


def _last_to_stop() -> None:
    """Run in the child before redis-server starts: a process group of its own, so a
    SIGTERM sent to the sandbox's whole group (``timeout``, systemd, a terminal's Ctrl-C
    goes to the foreground group) does not stop Redis under the bot and workers that are
    still finishing; the sandbox stops it after them. On Linux it is also told to stop
    when the sandbox dies, so a killed sandbox leaves no Redis behind."""
    os.setpgid(0, 0)
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class RedisServer:
    """One redis-server process; its data directory survives :meth:`stop` for restarts.

    ``password`` turns on AUTH; ``tls`` serves TLS only (``rediss://``) on the port.
    """

    def __init__(
        self,
        *,
        appendonly: bool = False,
        password: str | None = None,
        tls: TlsFiles | None = None,
        replica_of: int | None = None,
        outlives_group_signals: bool = False,
    ) -> None:
        """``outlives_group_signals``: the sandbox's own Redis, stopped last by the sandbox
        itself (see :func:`_last_to_stop`)."""
        self.port = free_port()
        self.outlives_group_signals = outlives_group_signals
        self.replica_of = replica_of
        self.directory = Path(tempfile.mkdtemp(prefix="batchbot-redis-"))
        self.appendonly = appendonly
        self.password = password
        self.tls = tls
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        scheme = "rediss" if self.tls else "redis"
        auth = f":{self.password}@" if self.password else ""
        return f"{scheme}://{auth}127.0.0.1:{self.port}/0"

    def _security_arguments(self) -> list[str]:
        arguments = ["--requirepass", self.password] if self.password else []
        if self.tls:
            arguments += [
                "--port", "0",
                "--tls-port", str(self.port),
                "--tls-cert-file", str(self.tls.cert),
                "--tls-key-file", str(self.tls.key),
                "--tls-ca-cert-file", str(self.tls.ca_cert),
                "--tls-auth-clients", "no",
            ]  # fmt: skip
        return arguments

    def _client_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"password": self.password}
        if self.tls:
            options.update(ssl=True, ssl_ca_certs=str(self.tls.ca_cert))
        return options

    def start(self, timeout_seconds: float = 10.0) -> None:
        command = [
            redis_server_binary(),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.directory),
            "--save", "",
            "--appendonly", "yes" if self.appendonly else "no",
            "--logfile", str(self.directory / "redis.log"),
            *self._security_arguments(),
            *(["--replicaof", "127.0.0.1", str(self.replica_of)] if self.replica_of else []),
        ]  # fmt: skip
        self._process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            preexec_fn=_last_to_stop if self.outlives_group_signals else None,  # noqa: PLW1509
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5, **self._client_options())
        log = self.directory / "redis.log"
        until_it_answers(self._process, client, timeout_seconds, log)

    def start_as_replica_of(self, primary_port: int) -> None:
        """Restart as a replica of the current primary, as a Sentinel-aware supervisor does
        with a failed primary: never a moment as a primary with stale data."""
        self.replica_of = primary_port
        self.start()

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None

    def kill(self) -> None:
        """SIGKILL: what a crashed host looks like (nothing flushed, no goodbye)."""
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=10)
            self._process = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)
