"""WhatsApp's settings: on when WHATSAPP_ACCESS_TOKEN is set (the Meta app's secret and
verify token are :mod:`channels.meta.settings`)."""

from __future__ import annotations

from pydantic import Field, HttpUrl, SecretStr, field_validator
from pydantic_settings import BaseSettings

WHATSAPP_DEFAULT_API_URL = "https://graph.facebook.com/v26.0"


class WhatsAppSettings(BaseSettings):
    whatsapp_access_token: SecretStr | None = Field(
        default=None,
        min_length=8,
        description="WhatsApp Cloud API: a system user's access token with the "
        "whatsapp_business_messaging permission; unset: no WhatsApp.",
    )
    whatsapp_api_url: HttpUrl = Field(
        default=HttpUrl(WHATSAPP_DEFAULT_API_URL),
        description="Graph API base, version included: Meta's, or the local sandbox.",
    )
    whatsapp_timeout_seconds: float = Field(
        default=15.0, gt=0, le=600, description="Longest wait for one Graph API call."
    )
    whatsapp_phone_number_id: str | None = Field(
        default=None,
        description="The business number's id (not the number): messages to it are served, "
        "to other numbers of the account ignored; proactive messages come from it.",
    )

    @field_validator("whatsapp_phone_number_id")
    @classmethod
    def _phone_number_id_is_digits(cls, value: str | None) -> str | None:
        if value is not None and not value.isdigit():
            raise ValueError(
                "expected the Phone number ID from the app's WhatsApp > API Setup page: "
                "digits only (it is not the phone number itself)"
            )
        return value
