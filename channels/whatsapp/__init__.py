"""WhatsApp Business Cloud API: webhook verification and parsing (for the bot) and the
sender (for the workers), behind the same interfaces as Telegram's.

- :mod:`.signature`: ``X-Hub-Signature-256`` checked in constant time;
- :mod:`.inbound`: a webhook delivery as the contract's messages, one per person;
- :mod:`.sender`: replies through ``POST /<phone number id>/messages``, errors mapped
  onto :mod:`channels.outcomes`.
"""

from channels.whatsapp.inbound import Inbound, NotADelivery, parse_delivery
from channels.whatsapp.sender import WHATSAPP_LIMITS, WhatsAppSender
from channels.whatsapp.signature import signature_matches

__all__ = [
    "WHATSAPP_LIMITS",
    "Inbound",
    "NotADelivery",
    "WhatsAppSender",
    "parse_delivery",
    "signature_matches",
]
