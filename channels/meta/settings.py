"""The Meta app's settings, shared by every channel Meta delivers to (WhatsApp, Instagram,
Messenger): one app, one secret, one verify token, one listener.

The ``WHATSAPP_*`` names of the first Meta channel keep working beside ``META_*``.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings


class MetaAppSettings(BaseSettings):
    """Read by the bot, which serves ``/webhook/<channel>`` for each Meta channel it has."""

    meta_app_secret: SecretStr | None = Field(
        default=None,
        min_length=8,
        validation_alias=AliasChoices("meta_app_secret", "whatsapp_app_secret"),
        description="The Meta app's secret (App settings > Basic): every webhook delivery "
        "must be signed with it. Also read as WHATSAPP_APP_SECRET.",
    )
    meta_verify_token: SecretStr | None = Field(
        default=None,
        min_length=8,
        validation_alias=AliasChoices("meta_verify_token", "whatsapp_verify_token"),
        description="Any string you choose; enter the same in the app's webhook settings. "
        "Also read as WHATSAPP_VERIFY_TOKEN.",
    )
    meta_listen_host: str = Field(
        default="0.0.0.0",
        validation_alias=AliasChoices("meta_listen_host", "whatsapp_listen_host"),
        description="Where the Meta webhook server binds. Also read as WHATSAPP_LISTEN_HOST.",
    )
    meta_listen_port: int = Field(
        default=8081,
        ge=1,
        le=65535,
        validation_alias=AliasChoices("meta_listen_port", "whatsapp_listen_port"),
        description="Its port. Also read as WHATSAPP_LISTEN_PORT.",
    )

    def missing_for_webhooks(self) -> list[str]:
        """The app settings a Meta channel's webhook cannot do without."""
        needed = {
            "META_APP_SECRET": self.meta_app_secret,
            "META_VERIFY_TOKEN": self.meta_verify_token,
        }
        return [name for name, value in needed.items() if value is None]


def account_id(value: str | None, where: str) -> str | None:
    """An account or Page id as Meta shows it: digits only, not a name or a link."""
    if value is not None and not (value.isdigit() and len(value) <= 32):
        raise ValueError(f"expected digits only, the id shown {where} (not a name or a link)")
    return value
