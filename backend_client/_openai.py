"""Any OpenAI-compatible chat-completions endpoint as the backend (BACKEND_PROTOCOL=openai).

The batch becomes one user message after the system prompt and the remembered turns
(:mod:`backend_client._openai_messages`); the request asks for a stream, whose
``choices[0].delta.content`` pieces are reported as the text grows (drafts), and a
plain JSON answer (``choices[0].message.content``) is taken too. The whole text is the
answer; the worker cuts it into messages as it does any answer. Errors are classified
as the batchbot contract's are: 429, 5xx, timeouts and broken streams retryable; any
other 4xx permanent, with the provider's own message.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from backend_client._errors import (
    PermanentBackendError,
    RetryableBackendError,
    broke_off,
    excerpt,
    retryable_status,
)
from backend_client._openai_messages import ImageFetcher, chat_messages
from backend_client._stream import EVENT_STREAM, OnText, events, is_event_stream
from backend_client._transport import json_http_client
from shared.models import BatchRequest, BatchResponse, OutgoingMessage


class OpenAIChatClient:
    """One pooled client per worker process, with the same ``answer`` as BackendClient."""

    def __init__(
        self,
        url: str,
        timeout_seconds: float,
        *,
        model: str,
        bearer_token: str | None = None,
        system_prompt: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url, self.model, self.system_prompt = url, model, system_prompt
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
        """Ask the model about one batch; the text so far goes to ``on_text`` as it grows,
        and its reasoning (``delta.reasoning_content`` or ``delta.reasoning``, as LiteLLM
        and OpenRouter send it) to ``on_reasoning``: never part of the answer."""
        body = {
            "model": self.model,
            "messages": await chat_messages(request, self.system_prompt, fetch_image),
            "stream": True,
        }
        headers = {"Accept": f"{EVENT_STREAM}, application/json"}
        try:
            async with self._http.stream(
                "POST", self.url, content=json.dumps(body).encode(), headers=headers
            ) as got:
                if got.status_code != 200:
                    await got.aread()
                    raise _error_of(got)
                if is_event_stream(got):
                    text = await _streamed_text(got, on_text, on_reasoning)
                else:
                    await got.aread()
                    text = _whole_text(got)
        except httpx.TimeoutException as error:
            raise RetryableBackendError(f"model endpoint timed out: {error!r}") from error
        except httpx.TransportError as error:
            raise RetryableBackendError(f"model endpoint unreachable: {error!r}") from error
        if not text.strip():
            return BatchResponse(messages=[])
        return BatchResponse(messages=[OutgoingMessage(text=text.strip())])


async def _streamed_text(
    response: httpx.Response, on_text: OnText | None, on_reasoning: OnText | None
) -> str:
    text = reasoning = ""
    try:
        async for _, data in events(response):
            if data.strip() == "[DONE]":
                return text
            delta = _dig(_json(data), "choices", 0, "delta")
            delta = delta if isinstance(delta, dict) else {}
            piece = delta.get("content")
            if isinstance(piece, str) and piece:
                text += piece
                if on_text is not None:
                    await on_text(text)
            thought = delta.get("reasoning_content") or delta.get("reasoning")
            if isinstance(thought, str) and thought:
                reasoning += thought
                if on_reasoning is not None:
                    await on_reasoning(reasoning)
    except httpx.TransportError as error:
        raise broke_off(error, "the model endpoint", len(text)) from error
    raise RetryableBackendError(
        f"the model's stream ended before [DONE] ({len(text)} characters); asking again"
    )


def _whole_text(response: httpx.Response) -> str:
    content = _dig(_json(response.text), "choices", 0, "message", "content")
    if not isinstance(content, str):
        raise PermanentBackendError(
            f"the model answered 200 without choices[0].message.content: {excerpt(response.text)}"
        )
    return content


def _error_of(response: httpx.Response) -> Exception:
    said = _dig(_json(response.text), "error", "message")
    detail = excerpt(said if isinstance(said, str) else response.text)
    message = f"model endpoint answered {response.status_code}: {detail}"
    if response.status_code in (404, 405):
        message += (
            "; BACKEND_URL must be the provider's chat-completions endpoint "
            "(…/v1/chat/completions), and BACKEND_MODEL a model it serves"
        )
    if retryable_status(response.status_code):
        return RetryableBackendError(message)
    return PermanentBackendError(message)


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _dig(value: Any, *path: str | int) -> Any:
    """``value[path[0]][path[1]]...``, or None where the shape differs."""
    for step in path:
        if isinstance(step, int) and isinstance(value, list) and len(value) > step:
            value = value[step]
        elif isinstance(step, str) and isinstance(value, dict):
            value = value.get(step)
        else:
            return None
    return value
