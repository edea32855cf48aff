"""Backend client CPU per request: httpx's own transport against the aiohttp transport.

The example backend runs in a process of its own, so this process's CPU time is the
client's alone. 2,000 requests of a one-message batch, 1 and 20 at a time (20 is a
worker's default WORKER_MAX_JOBS). Plain aiohttp is shown as the floor.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
import httpx

from backend_client import AiohttpTransport
from bench.common import wait_for_port
from sandbox.example_backend import BATCH_PATH
from sandbox.redis_server import free_port
from shared.models import BatchRequest, Chat, IncomingMessage, MessageKind, User, to_json

REQUESTS = 2000


@dataclass(frozen=True, slots=True)
class ClientResult:
    client: str
    requests: int
    concurrency: int
    cpu_ms_per_request: float
    requests_per_second: float


def _bodies(count: int) -> list[bytes]:
    at = datetime.now(UTC)
    return [
        to_json(
            BatchRequest.build(
                batch_id=f"bench-{n}",
                chat=Chat(id=n, type="private"),
                user=User(id=n, first_name="Ana"),
                messages=[IncomingMessage(message_id=1, date=at, kind=MessageKind.TEXT, text="hi")],
            )
        ).encode()
        for n in range(count)
    ]


async def _measure(
    name: str, post: Callable[[bytes], Awaitable[bytes]], bodies: list[bytes], concurrency: int
) -> ClientResult:
    pending: Iterator[bytes] = iter(bodies)

    async def sender() -> None:
        for body in pending:
            await post(body)

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return ClientResult(
        name, len(bodies), concurrency, 1000 * cpu / len(bodies), len(bodies) / wall
    )


async def run(requests: int = REQUESTS) -> list[ClientResult]:
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sandbox.example_backend", "--port", str(port),
        stdout=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    await wait_for_port(port)
    url = f"http://127.0.0.1:{port}{BATCH_PATH}"
    headers = {"Content-Type": "application/json"}
    bodies = _bodies(requests)
    results = []
    try:
        for concurrency in (1, 20):
            for name, transport in (
                ("httpx", None),
                ("httpx + aiohttp transport", AiohttpTransport()),
            ):
                async with httpx.AsyncClient(transport=transport, timeout=30) as client:

                    async def via_httpx(body: bytes, client: httpx.AsyncClient = client) -> bytes:
                        response = await client.post(url, content=body, headers=headers)
                        return response.raise_for_status().content

                    results.append(await _measure(name, via_httpx, bodies, concurrency))
            async with aiohttp.ClientSession() as session:

                async def via_aiohttp(body: bytes) -> bytes:
                    async with session.post(url, data=body, headers=headers) as response:
                        response.raise_for_status()
                        return await response.read()

                results.append(await _measure("aiohttp alone", via_aiohttp, bodies, concurrency))
    finally:
        server.terminate()
        await server.wait()
    return results
