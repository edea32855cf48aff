"""Instagram Direct in the channel registry: ``ig:<account id>:<igsid>``, deliveries to
``/webhook/instagram`` (object ``instagram``), replies through the Send API."""

from __future__ import annotations

from channels.base import Limits
from channels.instagram.settings import InstagramSettings
from channels.meta.platform import SendApiChannel
from channels.meta.settings import MetaAppSettings
from shared.models import Channel

INSTAGRAM_LIMITS = Limits(text=1000, caption=1000, text_bytes=1000)
"""Instagram takes a text of at most 1,000 bytes of UTF-8."""


class Settings(InstagramSettings, MetaAppSettings):
    """What Instagram reads: its own settings and the Meta app's."""


SPEC: SendApiChannel[Settings] = SendApiChannel(
    channel=Channel.INSTAGRAM,
    title="Instagram",
    object="instagram",
    limits=INSTAGRAM_LIMITS,
    token_setting="INSTAGRAM_ACCESS_TOKEN",
    account_setting="INSTAGRAM_ACCOUNT_ID",
    person_id="IGSID",
    token=lambda settings: settings.instagram_access_token,
    account=lambda settings: settings.instagram_account_id,
    api_url=lambda settings: str(settings.instagram_api_url),
    timeout_seconds=lambda settings: settings.instagram_timeout_seconds,
)
INSTAGRAM = SPEC.entry(Settings)
