"""``POST /handoff``'s body: whose conversation a human takes over (or hands back)."""

from __future__ import annotations

import re

from pydantic import AliasChoices, Field, field_validator, model_validator

from shared.proactive import Addressee

MAX_HANDOFF_SECONDS = 7 * 86400

CONVERSATION_FORMS = {
    "telegram": r"(tg:[0-9]{1,20}:)?-?[0-9]{1,20}(:[0-9]{1,20})?",
    "telegram business": r"(tg:[0-9]{1,20}:)?biz:[0-9A-Za-z_-]{1,128}:-?[0-9]{1,20}",
    "whatsapp": r"wa:[0-9]{1,32}:[0-9]{1,32}",
    "instagram": r"ig:[0-9]{1,32}:[0-9A-Za-z_-]{1,64}",
    "messenger": r"fb:[0-9]{1,32}:[0-9A-Za-z_-]{1,64}",
}
"""Every form a conversation id takes (``channels/*/conversations.py`` write them)."""

_CONVERSATION = re.compile("|".join(f"(?:{form})" for form in CONVERSATION_FORMS.values()))


def conversation_problem(conversation: str) -> str | None:
    """Why ``conversation`` cannot be a conversation id, or None when it can be one."""
    if _CONVERSATION.fullmatch(conversation):
        return None
    return (
        f"{conversation[:80]!r} is not a conversation id: expected one of 1001 (a private "
        "chat), -100123:1001 (a person in a group), biz:<connection>:<chat>, any of these "
        "after tg:<bot id>: (a TENANTS_FILE bot), "
        "wa:<phone number id>:<wa_id>, ig:<account>:<igsid> or fb:<page>:<psid>, as "
        "batchctl inspect lists them"
    )


ADDRESS_FIELDS = ("channel", "chat_id", "user_id", "wa_id", "phone_number_id", "recipient_id",
                  "account_id", "bot_id", "tenant")  # fmt: skip


class HandoffRequest(Addressee):
    """The person as for ``/proactive`` (``channel`` and ``chat_id``, ``wa_id`` or
    ``recipient_id``) or a ``conversation`` id as batchctl shows it (a Telegram Business
    chat has no other name); then ``seconds``, or ``resume``."""

    chat_id: int | None = Field(
        default=None,
        validation_alias=AliasChoices("chat_id", "chat"),
        description="Telegram: the chat (the person's user id for a private chat)",
    )
    conversation: str | None = Field(
        default=None,
        max_length=200,
        description="The conversation id (batchctl inspect), e.g. biz:<connection>:<chat>",
    )
    seconds: float | None = Field(
        default=None,
        gt=0,
        le=MAX_HANDOFF_SECONDS,
        strict=True,  # a number: true is not one second
        description="How long the assistant stays silent; default HANDOFF_SECONDS",
    )
    resume: bool = Field(default=False, description="true: hand the conversation back now")

    @field_validator("conversation")
    @classmethod
    def _a_conversation_id(cls, conversation: str | None) -> str | None:
        if conversation is not None and (problem := conversation_problem(conversation)):
            raise ValueError(problem)
        return conversation

    @model_validator(mode="after")
    def _seconds_or_resume(self) -> HandoffRequest:
        if self.resume and self.seconds is not None:
            raise ValueError("give seconds (take over) or resume: true (hand back), not both")
        return self

    @model_validator(mode="after")
    def _conversation_or_person(self) -> HandoffRequest:
        """A body naming the conversation and the person too would be ambiguous when they
        disagree: one or the other."""
        named = [name for name in ADDRESS_FIELDS if name in self.model_fields_set]
        if self.conversation is not None and named:
            raise ValueError(
                f"give conversation or the person ({', '.join(named)}), not both: "
                f"they may name different conversations"
            )
        if self.conversation is None and self.channel == "telegram" and self.chat_id is None:
            raise ValueError(
                "say whose conversation: chat (the Telegram chat id), or channel with wa_id "
                "or recipient_id, or conversation (as batchctl inspect lists it)"
            )
        return self
