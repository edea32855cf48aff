"""The example backend's streamed answers: Server-Sent Events as the contract defines them
(``event: delta`` pieces of text, then ``event: answer`` with the whole answer)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable

from aiohttp import web

from shared.models import BatchResponse, to_json

_WORDS = re.compile(r"\S+\s*")


def wants_a_stream(request: web.Request) -> bool:
    return "text/event-stream" in request.headers.get("Accept", "")


def pieces_of(answer: BatchResponse) -> list[str]:
    """The answer's text as a model would write it: a word (and its space) at a time."""
    text = "\n\n".join(message.text or "" for message in answer.messages)
    return _WORDS.findall(text)


async def stream_answer(
    request: web.Request,
    answer: BatchResponse,
    seconds_per_piece: float,
    cut: bool,
    first_piece_written: Callable[[], object] = lambda: None,
    closed_by_client: Callable[[], object] = lambda: None,
    reasoning: str = "",
) -> web.StreamResponse:
    """Write the answer as deltas, then the answer event; ``cut`` drops the connection
    halfway instead, as a backend that crashed mid-answer would. ``closed_by_client`` is
    told when the caller closes the stream before its end (a Stop, a supersede).
    ``reasoning`` is streamed first, as ``reasoning`` events."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    pieces = pieces_of(answer)
    try:
        for thought in _WORDS.findall(reasoning):
            data = json.dumps({"text": thought})
            await response.write(f"event: reasoning\ndata: {data}\n\n".encode())
            await asyncio.sleep(seconds_per_piece)
        for index, piece in enumerate(pieces):
            if cut and index >= len(pieces) // 2:
                assert request.transport is not None
                request.transport.close()
                return response
            delta = json.dumps({"text": piece})
            await response.write(f"event: delta\ndata: {delta}\n\n".encode())
            if index == 0:
                first_piece_written()
            await asyncio.sleep(seconds_per_piece)
        await response.write(f"event: answer\ndata: {to_json(answer)}\n\n".encode())
        await response.write_eof()
    except ConnectionResetError:
        closed_by_client()  # the caller went away: this answer was not given
    except asyncio.CancelledError:
        closed_by_client()
        raise
    return response
