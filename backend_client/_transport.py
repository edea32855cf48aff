"""An httpx transport that does its I/O with aiohttp.

httpx's own connection pool (httpcore on AnyIO) spent 1.4 ms of CPU per backend
request with one request at a time and over 4 ms with twenty at once, more than the
rest of a batch's work together; it is a known httpx limitation (encode/httpx#3215).
aiohttp, which the bot and the workers already run for aiogram, needs about 0.2 ms.
The client keeps httpx's API (requests, responses, timeouts, errors); only the wire
work moves. Redirects are not followed (the backend client never asks for them), and
bodies arrive undecoded so httpx decodes them as it always does. A body is streamed
as it arrives (a backend's Server-Sent Events answer is read piece by piece); the
aiohttp response is released when httpx closes the body.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

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
        with _as_httpx_errors(request):
            response = await self._session_for_this_loop().request(
                request.method,
                str(request.url),
                headers=headers,
                data=await request.aread(),
                allow_redirects=False,
                timeout=_aiohttp_timeout(request),
            )
        return httpx.Response(
            status_code=response.status,
            headers=list(response.raw_headers),
            stream=_Body(response, request),
            request=request,
            extensions={
                "http_version": b"HTTP/1.1",
                "reason_phrase": (response.reason or "").encode(),
            },
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


class _Body(httpx.AsyncByteStream):
    """An aiohttp response body as httpx reads it: chunk by chunk, errors as httpx's."""

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx_errors(self._request):
            async for chunk in self._response.content.iter_any():
                yield chunk

    async def aclose(self) -> None:
        self._response.release()


@contextlib.contextmanager
def _as_httpx_errors(request: httpx.Request) -> Iterator[None]:
    """aiohttp's and asyncio's errors as the httpx errors callers of httpx expect."""
    try:
        yield
    except aiohttp.ConnectionTimeoutError as error:
        raise httpx.ConnectTimeout(str(error) or "connect timed out", request=request) from error
    except aiohttp.ServerTimeoutError as error:  # no answer within the read timeout
        raise httpx.ReadTimeout(str(error) or "read timed out", request=request) from error
    except TimeoutError as error:
        raise httpx.TimeoutException("timed out", request=request) from error
    except aiohttp.ClientConnectorError as error:
        raise httpx.ConnectError(str(error), request=request) from error
    except aiohttp.ClientPayloadError as error:  # its text reads like a status ("400, message=")
        raise httpx.RemoteProtocolError(
            "the connection closed before the whole body arrived", request=request
        ) from error
    except (aiohttp.ClientError, asyncio.IncompleteReadError) as error:
        raise httpx.NetworkError(f"{type(error).__name__}: {error}", request=request) from error


USER_AGENT = "batchbot/0.1"


def json_http_client(
    timeout_seconds: float,
    bearer_token: str | None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """The HTTP client both backend clients post JSON with: one timeout for the whole
    call, the bearer token when there is one, aiohttp's I/O unless a test passes another."""
    headers = {"User-Agent": USER_AGENT, "Content-Type": "application/json"}
    if bearer_token:
        headers["Authorization"] = f"Bearer {bearer_token}"
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout_seconds),
        headers=headers,
        transport=transport if transport is not None else AiohttpTransport(),
    )
