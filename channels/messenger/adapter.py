"""Facebook Messenger: ``fb:<page id>:<psid>``, deliveries to ``/webhook/messenger``
(object ``page``), replies through the Send API (:mod:`channels.meta`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from pydantic import SecretStr

from channels.base import Limits
from channels.messenger.settings import MessengerSettings
from channels.meta.adapter import SendApiAdapter
from channels.meta.settings import MetaAppSettings
from shared.models import Channel

MESSENGER_LIMITS = Limits(text=2000, caption=2000)
"""Messenger takes a text of at most 2,000 characters."""


class Settings(MessengerSettings, MetaAppSettings):
    """What Messenger reads: its own settings and the Meta app's."""


class MessengerAdapter(SendApiAdapter):
    channel = Channel.MESSENGER
    title = "Messenger"
    credential = "MESSENGER_PAGE_ACCESS_TOKEN"
    settings = Settings
    object = "page"
    limits = MESSENGER_LIMITS
    account_setting = "MESSENGER_PAGE_ID"
    person_id = "PSID"
    account_keys: ClassVar[Mapping[str, str]] = {
        "page_id": "messenger_page_id",
        "access_token": "messenger_page_access_token",
    }
    account_key = "page_id"

    @classmethod
    def token_in(cls, settings: Settings) -> SecretStr | None:
        return settings.messenger_page_access_token

    @classmethod
    def account_in(cls, settings: Settings) -> str | None:
        return settings.messenger_page_id

    def __init__(self, settings: Settings) -> None:
        super().__init__(
            settings, str(settings.messenger_api_url), settings.messenger_timeout_seconds
        )
