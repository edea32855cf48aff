"""An AI backend implementing contract v1, for the demo, the tests and docker-compose.

It answers every batch with a short summary of what the person sent, remembers answers
by ``Idempotency-Key`` (as a real backend should, so a retried batch costs no second
model call), and records each call so tests can check what arrived, in which batch,
and whether two batches of one person were ever at the backend at once.

Run alone: ``python -m sandbox.example_backend --port 8000`` (path ``/webhook/batch``).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import os
import random
import signal
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from multidict import CIMultiDict
from pydantic import ValidationError

from sandbox.streaming import stream_answer, wants_a_stream
from shared.models import BatchRequest, BatchResponse, MessageId, OutgoingMessage, to_json

BATCH_PATH = "/webhook/batch"


def verify_batchbot_signature(
    secret: str, timestamp: str, signature: str, body: bytes, max_age_seconds: int = 300
) -> bool:
    """True if batchbot signed exactly this raw body, less than five minutes ago."""
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > max_age_seconds:
        return False
    signed = timestamp.encode() + b"." + body
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


@dataclass(frozen=True, slots=True)
class RawRequest:
    """A request as it arrived, before any check, so tests can verify what was sent."""

    headers: CIMultiDict[str]
    """Looked up without regard to case, as HTTP headers are."""
    body: bytes


@dataclass(frozen=True, slots=True)
class BackendCall:
    batch_id: str
    idempotency_key: str | None
    request: BatchRequest
    started_at: float
    finished_at: float
    started_wall: float

    @property
    def person(self) -> tuple[int | str, int | str]:
        return (self.request.chat.id, self.request.user.id)

    @property
    def message_ids(self) -> list[MessageId]:
        return [m.message_id for m in self.request.messages]


def summarise(request: BatchRequest) -> BatchResponse:
    """The example 'model': one reply that proves the whole burst arrived together."""
    count = len(request.messages)
    kinds = Counter(m.kind.value for m in request.messages if m.kind.value != "text")
    extras = "".join(f" + {n} {kind}" for kind, n in sorted(kinds.items()))
    heard = " / ".join(request.text.splitlines()) or "(no words)"
    text = (
        f"Hi {request.user.first_name or 'there'}! I got your {count} message(s){extras}: {heard}"
    )
    return BatchResponse(messages=[OutgoingMessage(text=text)])


Answerer = Callable[[BatchRequest], Awaitable[BatchResponse]]


@dataclass
class ExampleBackend:
    delay_seconds: float = 0.0
    calls: list[BackendCall] = field(default_factory=list)
    on_event: Callable[[str], None] | None = None
    answerer: Answerer | None = None
    failure_status: int | None = None
    """While set, requests fail with this status (a share ``failure_rate`` of them)."""
    failure_body: str = "backend unavailable"
    failure_rate: float = 1.0
    seed: int = 0
    bearer_token: str | None = None
    """When set, a request without ``Authorization: Bearer <token>`` gets 401."""
    signing_secret: str | None = None
    """When set, a request without a valid X-Batchbot-Signature gets 401."""
    stream: bool = False
    """Answer a request that accepts text/event-stream as a stream, a word at a time."""
    seconds_per_piece: float = 0.05
    cut_streams: int = 0
    """This many coming streams break off halfway, before their answer event."""
    first_piece_at: dict[str, float] = field(default_factory=dict)
    """Batch id → when its stream's first piece was written (monotonic)."""
    reasoning: str = ""
    """Streamed before the answer as ``reasoning`` events, as a reasoning model thinks."""
    closed_streams: dict[str, float] = field(default_factory=dict)
    """Batch id → when the caller closed its stream before the end (monotonic)."""
    on_exchange: Callable[[bytes, int | None], None] | None = None
    """Told each request body as it arrives (status None), then with the status it got."""

    def __post_init__(self) -> None:
        self._answers: dict[str, str] = {}
        self.received: list[BatchRequest] = []
        self.raw_requests: list[RawRequest] = []
        self.refused_unauthenticated = 0
        self._changed = asyncio.Condition()
        self._at_backend: Counter[tuple[int | str, int | str]] = Counter()
        self.overlaps = 0
        self.replayed = 0
        self.failures = 0
        self._random = random.Random(self.seed)
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.url = ""

    async def start(self, port: int = 0, host: str = "127.0.0.1") -> str:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post(BATCH_PATH, self._observed)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self.port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{self.port}{BATCH_PATH}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def wait_for_received(self, count: int, timeout_seconds: float = 30.0) -> None:
        """Wait until ``count`` batches have reached the backend (answered or not yet)."""
        async with asyncio.timeout(timeout_seconds), self._changed:
            await self._changed.wait_for(lambda: len(self.received) >= count)

    async def wait_for_answered(self, count: int, timeout_seconds: float = 30.0) -> None:
        """Wait until the backend has answered ``count`` batches (sent on or not)."""
        async with asyncio.timeout(timeout_seconds), self._changed:
            await self._changed.wait_for(lambda: len(self.calls) >= count)

    def answered_messages(self) -> int:
        return sum(len(call.request.messages) for call in self.calls)

    async def wait_for_answered_messages(self, count: int, timeout_seconds: float = 60.0) -> None:
        """Wait until answered batches hold ``count`` messages in all."""
        async with asyncio.timeout(timeout_seconds), self._changed:
            await self._changed.wait_for(lambda: self.answered_messages() >= count)

    async def _observed(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()  # kept by aiohttp: the handler reads the same bytes
        if self.on_exchange is not None:
            self.on_exchange(body, None)
        response = await self._handle(request)
        if self.on_exchange is not None:
            self.on_exchange(body, response.status)
        return response

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        started_wall = time.time()
        body = await request.read()
        self.raw_requests.append(RawRequest(CIMultiDict(request.headers), body))
        problem = self._authentication_problem(request, body)
        if problem is not None:
            self.refused_unauthenticated += 1
            return web.json_response({"error": problem}, status=401)
        try:
            batch = BatchRequest.model_validate_json(body)
        except ValidationError as error:
            return web.json_response({"error": error.errors(include_url=False)}, status=422)
        if self.failure_status is not None and self._random.random() < self.failure_rate:
            self.failures += 1
            return web.Response(status=self.failure_status, text=self.failure_body)
        key = request.headers.get("Idempotency-Key")
        if key is not None and key in self._answers:
            self.replayed += 1
            return web.Response(text=self._answers[key], content_type="application/json")

        answer = await self._think(batch)
        response: web.StreamResponse = web.Response(
            text=to_json(answer), content_type="application/json"
        )
        if self.stream and wants_a_stream(request):
            cut, self.cut_streams = self.cut_streams > 0, max(0, self.cut_streams - 1)
            closed: list[float] = []

            def went_away() -> None:  # a Stop, a supersede, a killed worker
                closed.append(time.monotonic())
                self.closed_streams.setdefault(batch.batch_id, closed[0])

            response = await stream_answer(
                request,
                answer,
                self.seconds_per_piece,
                cut,
                lambda: self.first_piece_at.setdefault(batch.batch_id, time.monotonic()),
                went_away,
                self.reasoning,
            )
            if cut or closed:
                return response  # no answer given: the worker asks again, or stopped
        if key is not None:
            self._answers[key] = to_json(answer)
        async with self._changed:
            self.calls.append(
                BackendCall(batch.batch_id, key, batch, started, time.monotonic(), started_wall)
            )
            self._changed.notify_all()
        return response

    async def _think(self, batch: BatchRequest) -> BatchResponse:
        """The answer, counting batches of one person that overlap (there should be none)."""
        async with self._changed:
            self.received.append(batch)
            self._changed.notify_all()
        person = (batch.chat.id, batch.user.id)
        if self._at_backend[person]:
            self.overlaps += 1
        self._at_backend[person] += 1
        try:
            if self.on_event:
                who = batch.user.first_name or batch.user.id  # Meta's channels give no name
                self.on_event(
                    f"backend ← batch {batch.batch_id[:8]} of {who}: "
                    f"{len(batch.messages)} message(s) {batch.text.splitlines()}"
                )
            if self.delay_seconds:
                await asyncio.sleep(self.delay_seconds)
            return await self.answerer(batch) if self.answerer else summarise(batch)
        finally:
            self._at_backend[person] -= 1

    def _authentication_problem(self, request: web.Request, body: bytes) -> str | None:
        if self.bearer_token is not None:
            expected = f"Bearer {self.bearer_token}"
            if not hmac.compare_digest(request.headers.get("Authorization", ""), expected):
                return "missing or wrong bearer token"
        if self.signing_secret is not None and not verify_batchbot_signature(
            self.signing_secret,
            request.headers.get("X-Batchbot-Timestamp", ""),
            request.headers.get("X-Batchbot-Signature", ""),
            body,
        ):
            return "missing, stale or wrong X-Batchbot-Signature"
        return None


async def _serve(host: str, port: int, stream: bool) -> None:
    backend = ExampleBackend(
        on_event=print,
        stream=stream,
        # The same variables the workers sign with, so a compose stack checks both ends.
        bearer_token=os.environ.get("BACKEND_BEARER_TOKEN") or None,
        signing_secret=os.environ.get("BACKEND_SIGNING_SECRET") or None,
    )
    # As a container's PID 1 a signal without a handler is ignored: `docker compose down`
    # would wait out its grace period and kill it. SIGTERM and SIGINT end it cleanly, from
    # before it says it listens.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await backend.start(port, host)
    print(f"example backend listening on http://{host}:{port}{BATCH_PATH}", flush=True)
    await stop.wait()
    await backend.stop()
    print("example backend stopped", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--stream", action="store_true", help="stream answers (Server-Sent Events) when asked"
    )
    args = parser.parse_args()
    asyncio.run(_serve(args.host, args.port, args.stream))


if __name__ == "__main__":
    main()
