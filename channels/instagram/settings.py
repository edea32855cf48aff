"""Instagram's settings (Instagram API with Instagram Login): on when
INSTAGRAM_ACCESS_TOKEN is set."""

from __future__ import annotations

from pydantic import Field, HttpUrl, SecretStr, field_validator
from pydantic_settings import BaseSettings

from channels.meta.settings import account_id

INSTAGRAM_DEFAULT_API_URL = "https://graph.instagram.com/v26.0"


class InstagramSettings(BaseSettings):
    instagram_access_token: SecretStr | None = Field(
        default=None,
        min_length=8,
        description="Instagram: the professional account's access token with the "
        "instagram_business_manage_messages permission; unset: no Instagram.",
    )
    instagram_account_id: str | None = Field(
        default=None,
        description="The professional account's Instagram id (digits): messages to it are "
        "served, to other accounts ignored; proactive messages come from it.",
    )
    instagram_api_url: HttpUrl = Field(
        default=HttpUrl(INSTAGRAM_DEFAULT_API_URL),
        description="Instagram's Graph API base, version included: Meta's, or the sandbox.",
    )
    instagram_timeout_seconds: float = Field(
        default=15.0, gt=0, le=600, description="Longest wait for one Instagram API call."
    )

    @field_validator("instagram_account_id")
    @classmethod
    def _instagram_account_id_is_digits(cls, value: str | None) -> str | None:
        return account_id(value, "beside the account's token in the app's Instagram > API setup")
