"""WhatsApp Business Cloud API: webhook parsing (for the bot) and the sender (for the
workers), behind the interfaces of :mod:`channels.base`.

- :mod:`.inbound` and :mod:`.kinds`: a webhook delivery as the contract's messages;
- :mod:`.conversations`: ``wa:<phone number id>:<wa_id>``;
- :mod:`.sender`: replies through ``POST /<phone number id>/messages``, errors mapped
  onto :mod:`channels.outcomes`.

Signatures and the verify token are the Meta app's (:mod:`channels.meta`).
"""

from channels.whatsapp.adapter import WhatsAppAdapter
from channels.whatsapp.inbound import parse_delivery
from channels.whatsapp.sender import WHATSAPP_LIMITS, WhatsAppSender
from channels.whatsapp.settings import WhatsAppSettings

__all__ = [
    "WHATSAPP_LIMITS",
    "WhatsAppAdapter",
    "WhatsAppSender",
    "WhatsAppSettings",
    "parse_delivery",
]
