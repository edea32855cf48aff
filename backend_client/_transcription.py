"""Speech to text at any OpenAI-compatible ``audio/transcriptions`` endpoint (OpenAI,
Groq, LiteLLM's proxy, a local Whisper server): the file and the model as multipart form
data, the words back as JSON (``{"text": ...}``)."""

from __future__ import annotations

import httpx

from backend_client._errors import PermanentBackendError, RetryableBackendError

EXTENSIONS = {
    "audio/ogg": "ogg",
    "audio/opus": "ogg",
    "audio/mpeg": "mp3",
    "audio/mp4": "m4a",
    "audio/aac": "m4a",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/webm": "webm",
    "audio/amr": "amr",
}
"""The API tells a file's format by its name: voice notes are OGG/Opus on Telegram and
WhatsApp, AAC or MP4 on Instagram and Messenger."""


class TranscriptionClient:
    """One connection pool to the transcription API; the key is sent, never logged."""

    def __init__(
        self,
        url: str,
        timeout_seconds: float,
        model: str,
        api_key: str | None = None,
        language: str | None = None,
        connections: int = 100,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self._client = httpx.AsyncClient(timeout=timeout_seconds, headers=headers, limits=limits)
        self.endpoint = url.rstrip("/") + "/audio/transcriptions"
        self.model, self.language = model, language

    async def transcribe(self, content: bytes, mime_type: str | None) -> tuple[str, int]:
        """The words and, where the API says, the audio's length in seconds (else 0).
        Raises RetryableBackendError (network, timeout, 429, 5xx) or PermanentBackendError
        (the API refused this file or request), each saying what the API said."""
        name = f"voice.{EXTENSIONS.get((mime_type or '').split(';')[0].strip(), 'ogg')}"
        form = {"model": self.model, "response_format": "json"}
        if self.language:
            form["language"] = self.language
        try:
            answer = await self._client.post(
                self.endpoint, data=form, files={"file": (name, content, mime_type or "audio/ogg")}
            )
        except httpx.HTTPError as error:
            raise RetryableBackendError(
                f"transcription unreachable: {type(error).__name__}"
            ) from error
        said = _what_it_said(answer)
        if answer.status_code == 429 or answer.status_code >= 500:
            raise RetryableBackendError(f"transcription answered {answer.status_code}: {said}")
        if answer.is_error:
            raise PermanentBackendError(f"transcription refused it ({answer.status_code}): {said}")
        try:
            body = answer.json()
            text = body["text"]
        except (ValueError, KeyError, TypeError) as error:
            raise PermanentBackendError(f"transcription answered no text: {said}") from error
        if not isinstance(text, str):
            raise PermanentBackendError(f"transcription answered no text: {said}")
        return text.strip(), _seconds_of(body)

    async def aclose(self) -> None:
        await self._client.aclose()


def _what_it_said(answer: httpx.Response) -> str:
    """The API's own error message, or the start of its body."""
    try:
        message = answer.json().get("error", {}).get("message")
    except (ValueError, AttributeError):
        message = None
    return str(message) if message else answer.text[:200]


def _seconds_of(body: object) -> int:
    """``duration`` (Whisper's verbose answers) or ``usage.seconds`` (OpenAI's)."""
    if not isinstance(body, dict):
        return 0
    usage = body.get("usage")
    seconds = body.get("duration") or (usage.get("seconds") if isinstance(usage, dict) else 0)
    return round(seconds) if isinstance(seconds, int | float) else 0
