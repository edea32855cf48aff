"""What the bot's token-guarded ops routes (``/proactive``, ``/handoff``) share: the
bearer check, compared in constant time, and a body's problems said as JSON."""

from __future__ import annotations

import hmac

from aiohttp import web
from pydantic import ValidationError

from shared.pipelining import NotReplicated


def refused(request: web.Request, token: str) -> web.Response | None:
    """401 unless the request carries ``Authorization: Bearer <token>``."""
    if hmac.compare_digest(request.headers.get("Authorization", ""), f"Bearer {token}"):
        return None
    return web.json_response({"error": "missing or wrong bearer token"}, status=401)


def not_stored(error: Exception) -> web.Response:
    """503 when Redis did not take the write for good: the caller may send it again (a
    takeover or proactive message repeated is harmless: the same pause, one more message
    only if the first was not queued)."""
    cause = "its replicas did not confirm it" if isinstance(error, NotReplicated) else (
        "Redis could not be reached")  # fmt: skip
    said = f"not stored: {cause} ({type(error).__name__}); send it again in a moment"
    return web.json_response({"error": said}, status=503)


def invalid_body(error: ValidationError, raw: bytes, example: str) -> web.Response:
    """400 with what was wrong with a body (a body that is not JSON says so)."""
    if not raw.strip():
        said = f"the body is empty; send JSON like {example}"
        return web.json_response({"error": said}, status=400)
    problems = error.errors(include_url=False, include_context=False, include_input=False)
    if problems and problems[0]["type"] == "json_invalid":
        said = f"the body is not JSON ({problems[0]['msg']}); send application/json"
        return web.json_response({"error": said}, status=400)
    return web.json_response({"error": "invalid request", "problems": problems}, status=400)
