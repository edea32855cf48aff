"""Facebook Messenger in the channel registry: ``fb:<page id>:<psid>``, deliveries to
``/webhook/messenger`` (object ``page``), replies through the Send API."""

from __future__ import annotations

from channels.base import Limits
from channels.messenger.settings import MessengerSettings
from channels.meta.platform import SendApiChannel
from channels.meta.settings import MetaAppSettings
from shared.models import Channel

MESSENGER_LIMITS = Limits(text=2000, caption=2000)
"""Messenger takes a text of at most 2,000 characters."""


class Settings(MessengerSettings, MetaAppSettings):
    """What Messenger reads: its own settings and the Meta app's."""


SPEC: SendApiChannel[Settings] = SendApiChannel(
    channel=Channel.MESSENGER,
    title="Messenger",
    object="page",
    limits=MESSENGER_LIMITS,
    token_setting="MESSENGER_PAGE_ACCESS_TOKEN",
    account_setting="MESSENGER_PAGE_ID",
    person_id="PSID",
    token=lambda settings: settings.messenger_page_access_token,
    account=lambda settings: settings.messenger_page_id,
    api_url=lambda settings: str(settings.messenger_api_url),
    timeout_seconds=lambda settings: settings.messenger_timeout_seconds,
)
MESSENGER = SPEC.entry(Settings)
