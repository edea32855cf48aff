"""An OpenAI-compatible chat-completions endpoint on loopback, for BACKEND_PROTOCOL=openai
in the demo and the tests: it streams (``"stream": true``) or answers JSON, records every
request, and its "model" says what it was given, so a reader can see the history and
the system prompt arrive."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

PATH = "/v1/chat/completions"
_WORDS = re.compile(r"\S+\s*")


@dataclass(frozen=True, slots=True)
class ModelCall:
    headers: CIMultiDict[str]
    raw: bytes
    body: dict[str, Any]


def reply_to(body: dict[str, Any]) -> str:
    """The stand-in model's answer: what it was told, briefly."""
    messages = body.get("messages", [])
    system = next((m["content"] for m in messages if m["role"] == "system"), None)
    earlier = sum(1 for m in messages[:-1] if m["role"] in ("user", "assistant"))
    last = messages[-1]["content"] if messages else ""
    if isinstance(last, list):
        images = sum(1 for part in last if part.get("type") == "image_url")
        last = " ".join(p.get("text", "") for p in last if p.get("type") == "text")
        last += f" (+{images} image(s))"
    prompt = f' System prompt: "{system}"' if system else ""
    return f"{body.get('model')} here.{prompt} Earlier turns: {earlier}. You said: {last}"


@dataclass
class OpenAIStandIn:
    streams: bool = True
    """Stream when asked; False answers JSON whatever the request says."""
    seconds_per_piece: float = 0.02
    fail_with: tuple[int, str] | None = None
    """(status, message) every call answers instead, as a provider's error."""
    calls: list[ModelCall] = field(default_factory=list)
    reasoning: str = ""
    """Streamed first as ``delta.reasoning_content`` (LiteLLM's and DeepSeek's name; the
    other spelling, ``delta.reasoning``, with ``reasoning_field``), as a reasoning model
    thinks before it answers."""
    reasoning_field: str = "reasoning_content"

    def __post_init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self, port: int = 0) -> str:
        app = web.Application()
        app.router.add_post(PATH, self._complete)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}{PATH}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _complete(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        body = json.loads(raw)
        self.calls.append(ModelCall(CIMultiDict(request.headers), raw, body))
        if self.fail_with is not None:
            status, message = self.fail_with
            return web.json_response({"error": {"message": message}}, status=status)
        text = reply_to(body)
        if not (self.streams and body.get("stream")):
            choice = {"index": 0, "message": {"role": "assistant", "content": text}}
            return web.json_response({"object": "chat.completion", "choices": [choice]})
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        thought = [(self.reasoning_field, piece) for piece in _WORDS.findall(self.reasoning)]
        said = [("content", piece) for piece in _WORDS.findall(text)]
        for name, piece in thought + said:
            chunk = {"object": "chat.completion.chunk", "choices": [{"delta": {name: piece}}]}
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
            await asyncio.sleep(self.seconds_per_piece)
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response
