"""Meta signs every webhook delivery with the app secret; anything unsigned is not Meta's."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field

from channels.meta.settings import MetaAppSettings

PREFIX = "sha256="
SIGNATURE_HEADER = "X-Hub-Signature-256"


def signature_of(app_secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value Meta sends with ``body``."""
    return PREFIX + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def signature_matches(app_secret: str, body: bytes, header: str | None) -> bool:
    """True when ``header`` signs exactly these bytes (compared in constant time; the
    body must be the raw bytes received, before any JSON parsing)."""
    if not header:
        return False
    return hmac.compare_digest(signature_of(app_secret, body).encode(), header.encode())


@dataclass(frozen=True, slots=True)
class MetaVerification:
    """How every Meta channel's webhook is verified: the subscription check's verify token
    and each delivery's signature, both the Meta app's (META_VERIFY_TOKEN,
    META_APP_SECRET)."""

    app_secret: str = field(repr=False)
    verify_token: str = field(repr=False)

    def subscribes(self, mode: str | None, verify_token: str | None) -> bool:
        return mode == "subscribe" and hmac.compare_digest(
            (verify_token or "").encode(), self.verify_token.encode()
        )

    def authentic(self, raw: bytes, headers: Mapping[str, str]) -> bool:
        return signature_matches(self.app_secret, raw, headers.get(SIGNATURE_HEADER))

    not_authentic = f"{SIGNATURE_HEADER} does not sign this body with the app secret"

    @classmethod
    def of(cls, settings: MetaAppSettings) -> MetaVerification:
        assert settings.meta_app_secret is not None and settings.meta_verify_token is not None
        return cls(
            settings.meta_app_secret.get_secret_value(),
            settings.meta_verify_token.get_secret_value(),
        )
