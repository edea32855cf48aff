"""``POST /handoff``'s body: whose conversation a human takes over (or hands back)."""

from __future__ import annotations

from pydantic import AliasChoices, Field, model_validator

from shared.proactive import Addressee

MAX_HANDOFF_SECONDS = 7 * 86400


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
        pattern=r"^[0-9A-Za-z:_-]{1,200}$",
        description="The conversation id (batchctl inspect), e.g. biz:<connection>:<chat>",
    )
    seconds: float | None = Field(
        default=None,
        gt=0,
        le=MAX_HANDOFF_SECONDS,
        description="How long the assistant stays silent; default HANDOFF_SECONDS",
    )
    resume: bool = Field(default=False, description="true: hand the conversation back now")

    @model_validator(mode="after")
    def _seconds_or_resume(self) -> HandoffRequest:
        if self.resume and self.seconds is not None:
            raise ValueError("give seconds (take over) or resume: true (hand back), not both")
        return self
