"""What a failed send means for delivery, whatever the platform said.

Each channel maps its own errors onto these four, so the delivery loop handles every
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
    """The person blocked the bot or left: drop the rest of the reply."""


class Refused(DeliveryFailed):
    """The platform refused this part (it will refuse it again): skip it, keep the rest."""
