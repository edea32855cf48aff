"""Meta signs every webhook delivery with the app secret; anything unsigned is not Meta's."""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "sha256="


def signature_of(app_secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value Meta sends with ``body``."""
    return PREFIX + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def signature_matches(app_secret: str, body: bytes, header: str | None) -> bool:
    """True when ``header`` signs exactly these bytes (compared in constant time; the
    body must be the raw bytes received, before any JSON parsing)."""
    if not header:
        return False
    return hmac.compare_digest(signature_of(app_secret, body).encode(), header.encode())
