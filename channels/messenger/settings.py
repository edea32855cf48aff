"""Facebook Messenger's settings: on when MESSENGER_PAGE_ACCESS_TOKEN is set."""

from __future__ import annotations

from pydantic import Field, HttpUrl, SecretStr, field_validator
from pydantic_settings import BaseSettings

from channels.meta.settings import account_id

MESSENGER_DEFAULT_API_URL = "https://graph.facebook.com/v26.0"


class MessengerSettings(BaseSettings):
    messenger_page_access_token: SecretStr | None = Field(
        default=None,
        min_length=8,
        description="Messenger: the Page's access token with the pages_messaging "
        "permission; unset: no Messenger.",
    )
    messenger_page_id: str | None = Field(
        default=None,
        description="The Facebook Page's id (digits): messages to it are served, to other "
        "Pages ignored; proactive messages come from it.",
    )
    messenger_api_url: HttpUrl = Field(
        default=HttpUrl(MESSENGER_DEFAULT_API_URL),
        description="Graph API base, version included: Meta's, or the local sandbox.",
    )
    messenger_timeout_seconds: float = Field(
        default=15.0, gt=0, le=600, description="Longest wait for one Send API call."
    )

    @field_validator("messenger_page_id")
    @classmethod
    def _messenger_page_id_is_digits(cls, value: str | None) -> str | None:
        return account_id(value, "in the Page's About > Page transparency, or beside its token")
