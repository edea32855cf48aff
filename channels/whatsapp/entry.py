"""WhatsApp in the channel registry."""

from __future__ import annotations

from dataclasses import dataclass

from channels.base import ChannelSender, Delivery
from channels.entry import ChannelEntry, NoRecipient
from channels.meta.settings import MetaAppSettings
from channels.whatsapp.conversations import conversation_id
from channels.whatsapp.inbound import parse_delivery
from channels.whatsapp.sender import WhatsAppSender
from channels.whatsapp.settings import WhatsAppSettings
from shared.models import Channel
from shared.proactive import Addressee


class Settings(WhatsAppSettings, MetaAppSettings):
    """What WhatsApp reads: its own settings and the Meta app's."""


@dataclass(frozen=True, slots=True)
class WhatsAppWebhook:
    """Deliveries to ``/webhook/whatsapp`` for the number WHATSAPP_PHONE_NUMBER_ID."""

    account: str
    channel: Channel = Channel.WHATSAPP
    account_setting: str = "WHATSAPP_PHONE_NUMBER_ID"

    def parse(self, raw: bytes) -> Delivery:
        return parse_delivery(raw)


def _sender(settings: Settings, typing_refresh_seconds: float) -> ChannelSender:
    assert settings.whatsapp_access_token is not None
    return WhatsAppSender(
        str(settings.whatsapp_api_url),
        settings.whatsapp_access_token.get_secret_value(),
        settings.whatsapp_timeout_seconds,
    )


def _intake_problem(settings: Settings) -> str | None:
    missing = settings.missing_for_webhooks()
    if settings.whatsapp_phone_number_id is None:
        missing.append("WHATSAPP_PHONE_NUMBER_ID")
    if not missing:
        return None
    return (
        "WHATSAPP_ACCESS_TOKEN is set, so the bot serves WhatsApp's webhook and needs "
        f"{', '.join(missing)} too (from the Meta app's settings; see the README)"
    )


def _webhook(settings: Settings) -> WhatsAppWebhook:
    assert settings.whatsapp_phone_number_id is not None
    return WhatsAppWebhook(settings.whatsapp_phone_number_id)


def _proactive_conversation(settings: Settings, request: Addressee) -> str:
    number = request.phone_number_id or settings.whatsapp_phone_number_id
    if request.wa_id is None or number is None:
        raise NoRecipient(
            "a WhatsApp message needs wa_id (the person's number, digits only) and "
            "phone_number_id unless the bot has WHATSAPP_PHONE_NUMBER_ID"
        )
    return conversation_id(number, request.wa_id)


WHATSAPP = ChannelEntry(
    channel=Channel.WHATSAPP,
    title="WhatsApp",
    credential="WHATSAPP_ACCESS_TOKEN",
    settings=Settings,
    configured=lambda settings: settings.whatsapp_access_token is not None,
    make_sender=_sender,
    send_timeout_seconds=lambda settings: settings.whatsapp_timeout_seconds,
    intake_problem=_intake_problem,
    proactive_conversation=_proactive_conversation,
    webhook=_webhook,
)
