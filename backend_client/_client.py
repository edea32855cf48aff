"""HTTP client for the backend's batch endpoint (contract v1): a JSON answer, or a
streamed one (Server-Sent Events, :mod:`backend_client._stream`)."""

from __future__ import annotations

import httpx
from pydantic import ValidationError

from backend_client._errors import (
    PermanentBackendError,
    RetryableBackendError,
    excerpt,
    retryable_status,
)
from backend_client._openai_messages import ImageFetcher
from backend_client._signing import signature_headers
from backend_client._stream import EVENT_STREAM, OnText, answer_from_stream, is_event_stream
from backend_client._transport import json_http_client
from shared.models import BatchRequest, BatchResponse, to_json


class BackendClient:
    """One pooled ``httpx.AsyncClient`` per worker process; close it on shutdown.

    ``bearer_token`` adds ``Authorization: Bearer``; ``signing_secret`` signs each body
    (see :mod:`backend_client._signing`). Either, both or neither may be set. The
    transport is aiohttp's unless given (see :mod:`backend_client._transport`).
    """

    def __init__(
        self,
        url: str,
        timeout_seconds: float,
        *,
        bearer_token: str | None = None,
        signing_secret: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url
        self._signing_secret = signing_secret
        self._http = json_http_client(timeout_seconds, bearer_token, transport)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def answer(
        self,
        request: BatchRequest,
        on_text: OnText | None = None,
        fetch_image: ImageFetcher | None = None,
    ) -> BatchResponse:
        """POST one batch and return the validated answer, or raise a classified error.

        A streamed answer calls ``on_text`` with the text so far after each piece. Media
        go as ids (the backend fetches them), so ``fetch_image`` is not used here.
        """
        body = to_json(request).encode()
        headers = {
            "Idempotency-Key": request.batch_id,
            "Accept": f"application/json, {EVENT_STREAM}",
        }
        if self._signing_secret:
            headers.update(signature_headers(self._signing_secret, body))
        try:
            async with self._http.stream("POST", self.url, content=body, headers=headers) as got:
                if got.status_code == 200 and is_event_stream(got):
                    return await answer_from_stream(got, on_text)
                await got.aread()
                return _answer_of(got)
        except httpx.TimeoutException as error:
            raise RetryableBackendError(f"backend timed out: {error!r}") from error
        except httpx.TransportError as error:
            raise RetryableBackendError(f"backend unreachable: {error!r}") from error


def _answer_of(response: httpx.Response) -> BatchResponse:
    """A whole (JSON) answer, or the classified error its status and body make."""
    if retryable_status(response.status_code):
        raise RetryableBackendError(
            f"backend answered {response.status_code}: {excerpt(response.text)}"
        )
    if response.status_code != 200:
        raise PermanentBackendError(
            f"backend answered {response.status_code}: {excerpt(response.text)}"
        )
    try:
        return BatchResponse.model_validate_json(response.content)
    except ValidationError as error:
        raise PermanentBackendError(
            "backend answered 200 with a body that is not a BatchResponse "
            f"({error.error_count()} problem(s), first: {_first_problem(error)}): "
            f"{excerpt(response.text)}"
        ) from error


def _first_problem(error: ValidationError) -> str:
    """Where the body breaks the contract and how: ``messages.0.text: Field required``."""
    problem = error.errors(include_url=False)[0]
    where = ".".join(str(part) for part in problem["loc"])
    return f"{where}: {problem['msg']}" if where else problem["msg"]
