"""Instagram Direct: ``ig:<account id>:<igsid>``, deliveries to ``/webhook/instagram``
(object ``instagram``), replies through the Send API (:mod:`channels.meta`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from pydantic import SecretStr

from channels.base import Limits
from channels.instagram.settings import InstagramSettings
from channels.meta.adapter import SendApiAdapter
from channels.meta.settings import MetaAppSettings
from shared.models import Channel

INSTAGRAM_LIMITS = Limits(text=1000, caption=1000, text_bytes=1000)
"""Instagram takes a text of at most 1,000 bytes of UTF-8."""


class Settings(InstagramSettings, MetaAppSettings):
    """What Instagram reads: its own settings and the Meta app's."""


class InstagramAdapter(SendApiAdapter):
    channel = Channel.INSTAGRAM
    title = "Instagram"
    credential = "INSTAGRAM_ACCESS_TOKEN"
    settings = Settings
    object = "instagram"
    limits = INSTAGRAM_LIMITS
    account_setting = "INSTAGRAM_ACCOUNT_ID"
    person_id = "IGSID"
    account_keys: ClassVar[Mapping[str, str]] = {
        "account_id": "instagram_account_id",
        "access_token": "instagram_access_token",
    }
    account_key = "account_id"

    @classmethod
    def token_in(cls, settings: Settings) -> SecretStr | None:
        return settings.instagram_access_token

    @classmethod
    def account_in(cls, settings: Settings) -> str | None:
        return settings.instagram_account_id

    def __init__(self, settings: Settings) -> None:
        super().__init__(
            settings, str(settings.instagram_api_url), settings.instagram_timeout_seconds
        )
