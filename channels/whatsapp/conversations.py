"""WhatsApp's conversation ids: ``wa:<phone number id>:<wa_id>``, a person writing to one
of the business's numbers (the answer comes from that number); the Meta channels' one
format (:mod:`channels.meta.conversations`)."""

from __future__ import annotations

from channels.meta.conversations import ScopedConversations
from shared.models import Channel

_WHATSAPP = ScopedConversations(Channel.WHATSAPP)
conversation_id = _WHATSAPP.conversation_id
"""(phone number id, wa_id) to the conversation id."""
parts_of = _WHATSAPP.parts_of
"""(phone number id, wa_id) of a WhatsApp conversation."""
