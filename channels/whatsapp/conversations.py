"""WhatsApp's conversation ids: ``wa:<phone number id>:<wa_id>``, a person writing to one
of the business's numbers (the answer comes from that number)."""

from __future__ import annotations

from shared.models import Channel

PREFIX = Channel.WHATSAPP.conversation_prefix


def conversation_id(phone_number_id: str, wa_id: str) -> str:
    return f"{PREFIX}{phone_number_id}:{wa_id}"


def parts_of(conversation: str) -> tuple[str, str]:
    """(phone number id, wa_id) of a WhatsApp conversation."""
    phone_number_id, _, wa_id = conversation.removeprefix(PREFIX).partition(":")
    return phone_number_id, wa_id
