"""Facebook Messenger on the Messenger Platform: deliveries and replies are
:mod:`channels.meta`'s, this folder says what is Messenger's (settings, limits,
``fb:<page id>:<psid>``)."""

from channels.messenger.adapter import MESSENGER_LIMITS, MessengerAdapter
from channels.messenger.settings import MessengerSettings

__all__ = ["MESSENGER_LIMITS", "MessengerAdapter", "MessengerSettings"]
