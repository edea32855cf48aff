"""The one place that speaks HTTP to the AI backend.

Public API: :class:`BackendClient` (a JSON answer, or a streamed one read as Server-Sent
Events), :class:`OpenAIChatClient` (any OpenAI-compatible model as the backend, with the
same ``answer``), :class:`TranscriptionClient` (voice notes to text at an
OpenAI-compatible ``audio/transcriptions``) and the two error classes a caller must tell apart,
:class:`RetryableBackendError` (try again later) and :class:`PermanentBackendError`
(trying again will not help), the names of the signature headers, and
:class:`AiohttpTransport` (httpx's API over aiohttp's I/O, which the benchmarks
compare with httpx's own). Everything else is in private modules.
"""

from backend_client._client import BackendClient
from backend_client._errors import BackendError, PermanentBackendError, RetryableBackendError
from backend_client._openai import OpenAIChatClient
from backend_client._openai_messages import ImageFetcher, placeholder
from backend_client._signing import SIGNATURE_HEADER, TIMESTAMP_HEADER
from backend_client._transcription import TranscriptionClient
from backend_client._transport import AiohttpTransport

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "AiohttpTransport",
    "BackendClient",
    "BackendError",
    "ImageFetcher",
    "OpenAIChatClient",
    "PermanentBackendError",
    "RetryableBackendError",
    "TranscriptionClient",
    "placeholder",
]
