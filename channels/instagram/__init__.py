"""Instagram Direct (Instagram API with Instagram Login) on the Messenger Platform:
deliveries and replies are :mod:`channels.meta`'s, this folder says what is Instagram's
(settings, limits, ``ig:<account id>:<igsid>``)."""

from channels.instagram.adapter import INSTAGRAM_LIMITS, InstagramAdapter
from channels.instagram.settings import InstagramSettings

__all__ = ["INSTAGRAM_LIMITS", "InstagramAdapter", "InstagramSettings"]
