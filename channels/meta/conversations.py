"""The conversation ids of every Meta channel: ``<prefix><account id>:<scoped person id>``,
a person writing to one of the business's numbers, accounts or Pages, answered from it
(``wa:<phone number id>:<wa_id>``, ``ig:<account id>:<igsid>``, ``fb:<page id>:<psid>``)."""

from __future__ import annotations

from dataclasses import dataclass

from shared.models import Channel


@dataclass(frozen=True, slots=True)
class ScopedConversations:
    channel: Channel

    def conversation_id(self, account: str, person: str) -> str:
        return f"{self.channel.conversation_prefix}{account}:{person}"

    def parts_of(self, conversation: str) -> tuple[str, str]:
        """(account id, person id) of a conversation."""
        prefix = self.channel.conversation_prefix
        account, _, person = conversation.removeprefix(prefix).partition(":")
        return account, person
