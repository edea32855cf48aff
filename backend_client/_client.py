"""HTTP client for the backend's batch endpoint (contract v1): a JSON answer, or a
streamed one (Server-Sent Events, :mod:`backend_client._stream`)."""

from __future__ import annotations

import json
from typing import Any

import httpx
from pydantic import BaseModel, ValidationError

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
from shared.models import BatchRequest, BatchResponse, OutgoingMessage, to_json


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
        on_reasoning: OnText | None = None,
    ) -> BatchResponse:
        """POST one batch and return the validated answer, or raise a classified error.

        A streamed answer calls ``on_text`` with the text so far after each piece, and
        ``on_reasoning`` with the reasoning so far. Media go as ids (the backend fetches
        them), so ``fetch_image`` is not used here.
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
                    return await answer_from_stream(got, on_text, on_reasoning)
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
            f"backend answered 200 but breaks the contract {_first_problem(error, response.text)} "
            f"({error.error_count()} problem(s)); body: {excerpt(response.text)}"
        ) from error


def _first_problem(error: ValidationError, body: str) -> str:
    """Where the body breaks the contract and how, leading with the field, so a shortened
    reason still names it: ``at messages.0: unknown key 'txt'; a message needs text...``.
    Unknown keys are allowed (fields may be added), but where an object is refused they
    are the likely typo, so they are named."""
    problem = error.errors(include_url=False)[0]
    where = ".".join(str(part) for part in problem["loc"])
    message = problem["msg"].removeprefix("Value error, ")
    unknown = _unknown_keys(body, problem["loc"])
    said = f"unknown key(s) {', '.join(map(repr, unknown))}; {message}" if unknown else message
    return f"at {where}: {said}" if where else f"at the top: {said}"


def _unknown_keys(body: str, loc: tuple[int | str, ...]) -> list[str]:
    """Keys of the refused object (or of the object holding the refused field) that the
    contract does not know."""
    try:
        value: Any = json.loads(body)
    except ValueError:
        return []
    objects: list[tuple[Any, type[BaseModel]]] = [(value, BatchResponse)]
    for step in loc:
        if isinstance(value, dict) and isinstance(step, str) and step in value:
            value = value[step]
        elif isinstance(value, list) and isinstance(step, int) and step < len(value):
            value = value[step]
            objects.append((value, OutgoingMessage))
        else:
            break
    target, model = objects[-1]
    if not isinstance(target, dict):
        return []
    known = {info.alias or name for name, info in model.model_fields.items()}
    return sorted(key for key in target if key not in known)
