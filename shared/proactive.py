"""Messages the backend sends on its own ("your table is ready"), in a person's chat.

Python: ``await send_proactive(redis, chat_id, [OutgoingMessage(text="...")])`` for
Telegram, or ``await queue(Outbox(redis, ttl), ProactiveRequest(channel="whatsapp",
wa_id=..., phone_number_id=..., messages=[...]))``.
HTTP: ``POST /proactive`` on the bot's metrics port with ``Authorization: Bearer
<PROACTIVE_TOKEN>`` and a :class:`ProactiveRequest` body (see :mod:`bot.proactive`).

Either way the messages are queued for the conversation's own job, which sends them
after any reply in progress: never in the middle of a multi-part answer.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field
from redis.asyncio import Redis

from shared.keys import conversation_id, whatsapp_conversation_id
from shared.models import Channel, OutgoingMessage
from shared.outbox import Outbox
from shared.states import Scheduling

DEFAULT_KEY_TTL_SECONDS = 7 * 86400


class ProactiveRequest(BaseModel):
    """Whom to write to and what; the messages are the same as in a BatchResponse."""

    channel: Channel = Field(default=Channel.TELEGRAM, description="Where the person is")
    chat_id: int | None = Field(
        default=None, description="Telegram: the chat (the person's user id for a private chat)"
    )
    user_id: int | None = Field(
        default=None,
        description="Telegram: in a group chat, the person whose conversation it joins",
    )
    wa_id: str | None = Field(
        default=None,
        pattern=r"^[0-9]{1,32}$",
        description="WhatsApp: the person's wa_id (their number, digits only)",
    )
    phone_number_id: str | None = Field(
        default=None,
        pattern=r"^[0-9]{1,32}$",
        description="WhatsApp: the business number to write from; default WHATSAPP_PHONE_NUMBER_ID",
    )
    messages: list[OutgoingMessage] = Field(min_length=1)

    def conversation(self, default_phone_number_id: str | None = None) -> str:
        """The conversation the messages join; ValueError saying what is missing."""
        if self.channel is Channel.WHATSAPP:
            number = self.phone_number_id or default_phone_number_id
            if self.wa_id is None or number is None:
                raise ValueError(
                    "a WhatsApp message needs wa_id (the person's number, digits only) and "
                    "phone_number_id unless the bot has WHATSAPP_PHONE_NUMBER_ID"
                )
            return whatsapp_conversation_id(number, self.wa_id)
        if self.chat_id is None:
            raise ValueError('a Telegram message needs chat_id (or set "channel": "whatsapp")')
        private = self.user_id is None or self.user_id == self.chat_id
        if private and self.chat_id < 0:
            raise ValueError("a group chat (negative chat_id) needs user_id")
        user_id = self.chat_id if self.user_id is None else self.user_id
        return conversation_id(self.chat_id, "private" if private else "group", user_id)


async def send_proactive(
    redis: Redis,
    chat_id: int,
    messages: Sequence[OutgoingMessage],
    *,
    user_id: int | None = None,
    key_ttl_seconds: int = DEFAULT_KEY_TTL_SECONDS,
) -> Scheduling:
    """Queue messages for a person; returns how they were scheduled (for logs)."""
    request = ProactiveRequest(chat_id=chat_id, user_id=user_id, messages=list(messages))
    return await queue(Outbox(redis, key_ttl_seconds), request)


async def queue(
    outbox: Outbox, request: ProactiveRequest, default_phone_number_id: str | None = None
) -> Scheduling:
    conversation = request.conversation(default_phone_number_id)
    return await outbox.queue(conversation, request.messages)
