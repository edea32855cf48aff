"""An OpenAI-compatible speech-to-text endpoint on loopback (``POST /v1/audio/transcriptions``,
multipart ``file`` and ``model``, answering ``{"text": ...}`` as OpenAI documents it), for
TRANSCRIBE_URL in the demo and the tests. No speech model runs here: it answers the words
it was told a file holds (:meth:`TranscriptionStandIn.knows`), else it says the file's
size. A delay and failures are knobs, to see a batch wait for a transcript or go without."""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

PATH = "/v1/audio/transcriptions"
VOICE_NOTE = Path(__file__).parent / "voice" / "booking.ogg"
"""A real OGG/Opus voice note (how it was made: ``sandbox/voice/README.md``)."""
VOICE_NOTE_WORDS = "Hi, it's Ana. Can I book a haircut for tomorrow at five?"


@dataclass(frozen=True, slots=True)
class TranscriptionCall:
    model: str
    file_name: str
    size: int
    language: str | None
    authorization: str | None
    at: float
    """When the request came (monotonic)."""


@dataclass
class TranscriptionStandIn:
    delay_seconds: float = 0.0
    """How long each transcription takes."""
    failures: list[int] = field(default_factory=list)
    """Statuses the next calls answer instead (e.g. [500, 500]: two failures, then words)."""
    calls: list[TranscriptionCall] = field(default_factory=list)
    finished: int = 0
    """Calls answered with words."""
    answered_at: dict[str, float] = field(default_factory=dict)
    """sha256 of a file → when its words were answered (monotonic)."""

    def __post_init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self._known: dict[str, str] = {}
        self.url = ""
        """The base URL, as TRANSCRIBE_URL takes it (``.../v1``)."""

    def knows(self, audio: bytes, words: str) -> None:
        """Answer ``words`` for this file, as a model would hear them."""
        self._known[hashlib.sha256(audio).hexdigest()] = words

    async def start(self, port: int = 0) -> str:
        app = web.Application(client_max_size=30 * 1024 * 1024)
        app.router.add_post(PATH, self._transcribe)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/v1"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _transcribe(self, request: web.Request) -> web.Response:
        form = await request.post()
        upload, model = form.get("file"), form.get("model")
        if not isinstance(upload, web.FileField) or not isinstance(model, str):
            error = {"message": "file and model are required", "type": "invalid_request_error"}
            return web.json_response({"error": error}, status=400)
        audio = upload.file.read()
        language = form.get("language")
        self.calls.append(
            TranscriptionCall(
                model, upload.filename, len(audio), language if isinstance(language, str) else None,
                request.headers.get("Authorization"), time.monotonic(),
            )
        )  # fmt: skip
        await asyncio.sleep(self.delay_seconds)
        if self.failures:
            status = self.failures.pop(0)
            error = {"message": f"the stand-in failed as asked ({status})", "type": "server_error"}
            return web.json_response({"error": error}, status=status)
        digest = hashlib.sha256(audio).hexdigest()
        words = self._known.get(digest)
        self.finished += 1
        self.answered_at[digest] = time.monotonic()
        return web.json_response({"text": words or f"(a voice note of {len(audio)} bytes)"})
