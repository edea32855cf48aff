"""A backend's streamed answer: Server-Sent Events, read as they arrive.

The contract (v1): any number of ``event: delta`` with ``data: {"text": "<the next
piece>"}`` (and, from a model that reasons, ``event: reasoning`` of the same shape: shown
while it is written, never part of the answer), then exactly one ``event: answer`` whose
data is the whole answer, the same object a JSON answer is. Only that final answer
counts; a stream that ends, breaks or times out before it is a retryable failure (the
worker asks again with the same batch id). Other events and comments are ignored, as the
SSE format allows.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
from pydantic import ValidationError

from backend_client._errors import (
    PermanentBackendError,
    RetryableBackendError,
    broke_off,
    excerpt,
)
from shared.models import BatchResponse

OnText = Callable[[str], Awaitable[None]]
"""Called with the answer's text so far, after each delta."""

EVENT_STREAM = "text/event-stream"


def is_event_stream(response: httpx.Response) -> bool:
    content_type: str = response.headers.get("content-type", "")
    return content_type.split(";", maxsplit=1)[0].strip().lower() == EVENT_STREAM


async def events(response: httpx.Response) -> AsyncIterator[tuple[str, str]]:
    """(event, data) pairs of an SSE body; an event without a name is a "message"."""
    name, data = "", list[str]()
    async for line in response.aiter_lines():
        if not line:
            if data:
                yield name or "message", "\n".join(data)
            name, data = "", list[str]()
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
    if data:
        yield name or "message", "\n".join(data)


async def answer_from_stream(
    response: httpx.Response, on_text: OnText | None, on_reasoning: OnText | None = None
) -> BatchResponse:
    """The final answer of a streamed response, reporting the text (and the reasoning, a
    preview that is never part of the answer) as it grows."""
    text = reasoning = ""
    try:
        async for name, data in events(response):
            if name == "delta":
                text += _delta_text(data, name)
                if on_text is not None:
                    await on_text(text)
            elif name == "reasoning":
                reasoning += _delta_text(data, name)
                if on_reasoning is not None:
                    await on_reasoning(reasoning)
            elif name == "answer":
                try:
                    return BatchResponse.model_validate_json(data)
                except ValidationError as error:
                    raise PermanentBackendError(
                        f"the stream's answer event is not a BatchResponse: {excerpt(data)}"
                    ) from error
    except httpx.TransportError as error:
        raise broke_off(error, "the backend", len(text)) from error
    raise RetryableBackendError(
        f"the backend's stream ended before its answer event ({len(text)} characters "
        "streamed); asking again"
    )


def _delta_text(data: str, event: str) -> str:
    try:
        piece = json.loads(data).get("text")
    except (ValueError, AttributeError):
        piece = None
    if not isinstance(piece, str):
        raise PermanentBackendError(
            f'a {event} event\'s data must be {{"text": "..."}}; got {excerpt(data)}'
        )
    return piece
