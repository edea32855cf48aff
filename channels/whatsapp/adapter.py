"""WhatsApp Business Cloud API for one deployment's number(s): ``wa:<phone number id>:<wa_id>``,
deliveries to ``/webhook/whatsapp``, replies through ``POST /<phone number id>/messages``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from channels.adapter import ChannelAdapter, NoRecipient
from channels.base import ChannelSender, WebhookIntake
from channels.meta.adapter import MetaWebhookIntake, intake_problem_of
from channels.meta.settings import MetaAppSettings
from channels.meta.signature import MetaVerification
from channels.whatsapp.conversations import conversation_id, parts_of
from channels.whatsapp.inbound import parse_delivery
from channels.whatsapp.sender import WhatsAppSender
from channels.whatsapp.settings import WhatsAppSettings
from shared.models import Channel
from shared.proactive import Addressee


class Settings(WhatsAppSettings, MetaAppSettings):
    """What WhatsApp reads: its own settings and the Meta app's."""


class WhatsAppAdapter(ChannelAdapter):
    channel = Channel.WHATSAPP
    title = "WhatsApp"
    credential = "WHATSAPP_ACCESS_TOKEN"
    settings = Settings
    account_setting = "WHATSAPP_PHONE_NUMBER_ID"
    account_keys: ClassVar[Mapping[str, str]] = {
        "phone_number_id": "whatsapp_phone_number_id",
        "access_token": "whatsapp_access_token",
    }
    account_key = "phone_number_id"

    @classmethod
    def configured(cls, settings: Settings) -> bool:
        return settings.whatsapp_access_token is not None

    @classmethod
    def identity_in(cls, settings: Settings) -> str | None:
        return settings.whatsapp_phone_number_id

    @classmethod
    def account_named(cls, addressee: Addressee) -> str | None:
        return addressee.phone_number_id

    @classmethod
    def owner_of(cls, conversation: str) -> str | None:
        return parts_of(conversation)[0]

    @classmethod
    def intake_problem(cls, settings: Settings) -> str | None:
        return intake_problem_of(
            settings, cls, cls.account_setting, settings.whatsapp_phone_number_id
        )

    def __init__(self, settings: Settings) -> None:
        assert settings.whatsapp_access_token is not None, f"{self.credential} is needed"
        self._settings = settings

    def conversation_for(self, addressee: Addressee) -> str:
        number = addressee.phone_number_id or self._settings.whatsapp_phone_number_id
        if addressee.wa_id is None or number is None:
            raise NoRecipient(
                "a WhatsApp message needs wa_id (the person's number, digits only) and "
                f"phone_number_id unless the bot has {self.account_setting}"
            )
        return conversation_id(number, addressee.wa_id)

    def account_of(self, conversation: str) -> str | None:
        return parts_of(conversation)[0]

    def webhook(self) -> WebhookIntake:
        number = self._settings.whatsapp_phone_number_id
        assert number is not None, f"{self.account_setting} is needed"
        verification = MetaVerification.of(self._settings)
        return MetaWebhookIntake(
            self.channel, number, self.account_setting, verification, parse_delivery
        )

    def make_sender(self, typing_refresh_seconds: float) -> ChannelSender:
        token = self._settings.whatsapp_access_token
        assert token is not None
        return WhatsAppSender(
            str(self._settings.whatsapp_api_url),
            token.get_secret_value(),
            self._settings.whatsapp_timeout_seconds,
        )

    @property
    def send_timeout_seconds(self) -> float:
        return self._settings.whatsapp_timeout_seconds
