"""HMAC-SHA256 request signing, so a backend can tell batchbot's requests from others.

The signed string is ``<unix seconds>.<raw body>``: the timestamp lets a backend refuse
a captured request replayed later, and signing the raw bytes means the backend checks
exactly what it received, before parsing. The README shows the check a backend runs.
"""

from __future__ import annotations

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "X-Batchbot-Timestamp"
SIGNATURE_HEADER = "X-Batchbot-Signature"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def signature_headers(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The two headers for one request; a retry is signed again with a fresh timestamp."""
    when = int(time.time()) if timestamp is None else timestamp
    return {TIMESTAMP_HEADER: str(when), SIGNATURE_HEADER: signature(secret, when, body)}
