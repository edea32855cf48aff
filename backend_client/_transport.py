"""An httpx transport that does its I/O with aiohttp.

httpx's own connection pool (httpcore on AnyIO) spent 1.4 ms of CPU per backend
request with one request at a time and over 4 ms with twenty at once, more than the
rest of a batch's work together; it is a known httpx limitation (encode/httpx#3215).
aiohttp, which the bot and the workers already run for aiogram, needs about 0.2 ms.
The client keeps httpx's API (requests, responses, timeouts, errors); only the wire
work moves. Redirects are not followed (the backend client never asks for them), and
bodies arrive undecoded so httpx decodes them as it always does.
"""

from __future__ import annotations

import asyncio

import aiohttp
import httpx

# aiohttp sets these itself from the body and the URL.
_HOP_BY_HOP = frozenset({"host", "content-length", "transfer-encoding", "connection"})


def _aiohttp_timeout(request: httpx.Request) -> aiohttp.ClientTimeout:
    """httpx's per-request timeouts (connect, read, pool) in aiohttp's terms."""
    timeout = request.extensions.get("timeout", {})
    return aiohttp.ClientTimeout(
        total=None,
        connect=timeout.get("pool"),
        sock_connect=timeout.get("connect"),
        sock_read=timeout.get("read"),
    )


class AiohttpTransport(httpx.AsyncBaseTransport):
    """One aiohttp session (its pool) per transport, created on first use in the loop."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    def _session_for_this_loop(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(auto_decompress=False)
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in request.headers.raw  # as written, not lower-cased
            if name.lower().decode("latin-1") not in _HOP_BY_HOP
        ]
        try:
            async with self._session_for_this_loop().request(
                request.method,
                str(request.url),
                headers=headers,
                data=await request.aread(),
                allow_redirects=False,
                timeout=_aiohttp_timeout(request),
            ) as response:
                body = await response.read()
        except aiohttp.ConnectionTimeoutError as error:
            raise httpx.ConnectTimeout(
                str(error) or "connect timed out", request=request
            ) from error
        except aiohttp.ServerTimeoutError as error:  # no answer within the read timeout
            raise httpx.ReadTimeout(str(error) or "read timed out", request=request) from error
        except TimeoutError as error:
            raise httpx.TimeoutException("timed out", request=request) from error
        except aiohttp.ClientConnectorError as error:
            raise httpx.ConnectError(str(error), request=request) from error
        except (aiohttp.ClientError, asyncio.IncompleteReadError) as error:
            raise httpx.NetworkError(f"{type(error).__name__}: {error}", request=request) from error
        return httpx.Response(
            status_code=response.status,
            headers=list(response.raw_headers),
            stream=httpx.ByteStream(body),
            request=request,
            extensions={
                "http_version": b"HTTP/1.1",
                "reason_phrase": (response.reason or "").encode(),
            },
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
