"""The messaging platforms batchbot serves, by the names the contract and the keys use."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    """The messaging platform a conversation is on."""

    TELEGRAM = "telegram"
    WHATSAPP = "whatsapp"
    INSTAGRAM = "instagram"
    MESSENGER = "messenger"

    @property
    def conversation_prefix(self) -> str:
        """What its conversation ids start with (``channels.<name>.conversations`` builds
        them): Telegram's have none, as they were there first and their keys stay."""
        return _CONVERSATION_PREFIXES[self]


_CONVERSATION_PREFIXES = {
    Channel.TELEGRAM: "",
    Channel.WHATSAPP: "wa:",
    Channel.INSTAGRAM: "ig:",
    Channel.MESSENGER: "fb:",
}
