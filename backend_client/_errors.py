"""Backend failures, split by what the caller should do about them."""

from __future__ import annotations

BODY_EXCERPT_CHARS = 500


def excerpt(body: str) -> str:
    """A body shortened for a reason string: enough to recognise, never megabytes."""
    if len(body) <= BODY_EXCERPT_CHARS:
        return body
    return body[:BODY_EXCERPT_CHARS] + f"… ({len(body)} characters in all)"


class BackendError(Exception):
    """The backend did not give a usable answer."""


class RetryableBackendError(BackendError):
    """Timeout, connection failure or 5xx: the same request may well work later."""


class PermanentBackendError(BackendError):
    """4xx or a body that breaks the contract: repeating the request will fail the same way."""


def retryable_status(status: int) -> bool:
    """429 and 5xx may well pass; any other error status will fail the same way again."""
    return status >= 500 or status == 429


def broke_off(error: Exception, who: str, characters: int) -> RetryableBackendError:
    """A stream that started and then stopped: the endpoint was reached and answered 200,
    so it is neither "unreachable" nor a status; say how far it got."""
    how = (
        "nothing more arrived within the timeout"
        if isinstance(error, TimeoutError) or "Timeout" in type(error).__name__
        else "the connection closed mid-stream"
    )
    return RetryableBackendError(
        f"{who}'s stream broke off after {characters} characters ({how}); asking again"
    )
