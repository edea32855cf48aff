"""Messages the backend sends on its own ("your table is ready"), in a person's chat: the
request, whose fields each channel reads into a conversation (``channels.registry``).

Python: ``await channels.telegram.proactive.send_proactive(redis, chat_id,
[OutgoingMessage(...)])`` for Telegram, or ``await channels.proactive.queue(Outbox(redis,
ttl), settings, ProactiveRequest(channel="whatsapp", wa_id=..., messages=[...]))``.
HTTP: ``POST /proactive`` on the bot's metrics port with ``Authorization: Bearer
<PROACTIVE_TOKEN>`` and a :class:`ProactiveRequest` body (see :mod:`bot.proactive`).

Either way the messages are queued for the conversation's own job, which sends them
after any reply in progress: never in the middle of a multi-part answer.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from shared.models import Channel, OutgoingMessage

DEFAULT_KEY_TTL_SECONDS = 7 * 86400


class Addressee(BaseModel):
    """A person's conversation, as each channel names it (``channels.registry`` reads it)."""

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
    recipient_id: str | None = Field(
        default=None,
        pattern=r"^[0-9A-Za-z_-]{1,64}$",
        description="Instagram: the person's IGSID; Messenger: their PSID",
    )
    account_id: str | None = Field(
        default=None,
        pattern=r"^[0-9]{1,32}$",
        description="Instagram or Messenger: the account or Page to write from; default "
        "INSTAGRAM_ACCOUNT_ID or MESSENGER_PAGE_ID",
    )
    bot_id: str | None = Field(
        default=None,
        pattern=r"^[0-9]{1,20}$",
        description="Telegram: the bot to write from (the digits before its token's colon), "
        "where several are served; default: the only one (of the tenant)",
    )
    tenant: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$",
        description="TENANTS_FILE: the tenant whose account writes, when the account does "
        "not say it (default: found from the account named)",
    )


class ProactiveRequest(Addressee):
    """Whom to write to and what; the messages are the same as in a BatchResponse."""

    messages: list[OutgoingMessage] = Field(min_length=1)
