"""The aiohttp transport behind the backend client keeps httpx's behaviour: headers as
written, compressed bodies decoded, and httpx's timeout and connection errors."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web

from backend_client import AiohttpTransport
from sandbox.redis_server import free_port

SLOW_SECONDS = 2.0


@pytest.fixture
async def server() -> AsyncIterator[str]:
    async def echo(request: web.Request) -> web.Response:
        body = await request.read()
        header = request.headers.get("X-Mixed-Case", "")
        return web.Response(
            body=gzip.compress(body + b"|" + header.encode()),
            headers={"Content-Encoding": "gzip", "X-Answer": "yes"},
            status=201,
        )

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(SLOW_SECONDS)
        return web.Response(text="late")

    app = web.Application()
    app.router.add_post("/echo", echo)
    app.router.add_get("/slow", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def test_a_request_and_its_compressed_answer_round_trip(server: str) -> None:
    async with httpx.AsyncClient(transport=AiohttpTransport()) as client:
        response = await client.post(
            f"{server}/echo", content=b"hello", headers={"X-Mixed-Case": "kept"}
        )
    assert response.status_code == 201
    assert response.content == b"hello|kept"  # decoded by httpx, from the raw gzip
    assert response.headers["x-answer"] == "yes"


async def test_no_answer_within_the_read_timeout_is_httpx_read_timeout(server: str) -> None:
    timeout = httpx.Timeout(SLOW_SECONDS / 4)
    async with httpx.AsyncClient(transport=AiohttpTransport(), timeout=timeout) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get(f"{server}/slow")


async def test_nobody_listening_is_httpx_connect_error() -> None:
    async with httpx.AsyncClient(transport=AiohttpTransport()) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{free_port()}/")
