"""What a failed send means for delivery, whatever the platform said.

Each channel maps its own errors onto these, so the delivery loop handles every
platform the same way: wait and go on, retry later, stop, or skip the one part.
"""

from __future__ import annotations


class DeliveryFailed(Exception):
    """A part did not reach the person; the subclass says what to do about it."""


class RetryAfter(DeliveryFailed):
    """The platform asked us to slow down: wait ``seconds``, then continue."""

    def __init__(self, message: str, seconds: float) -> None:
        super().__init__(message)
        self.seconds = seconds


class Unavailable(DeliveryFailed):
    """The platform or the network failed: retry with back-off."""


class RecipientGone(DeliveryFailed):
    """The person cannot be reached (blocked the bot, left, or WhatsApp's 24-hour window
    closed): stop, and keep the batch as a dead letter with the reason; retrying would
    fail the same way."""


class CredentialsRefused(RecipientGone):
    """The platform refused our token: nothing can be sent to anyone until an operator
    fixes it. Handled like a gone recipient (a dead letter, to replay once fixed); the
    sender logs it loudly."""


class Refused(DeliveryFailed):
    """The platform refused this part (it will refuse it again): skip it, keep the rest."""
