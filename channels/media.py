"""A message's file as a channel gives it: photos shown to a model that sees images, voice
notes transcribed. Each sender fetches with its own credentials
(:meth:`channels.base.ChannelSender.fetch_media`); these are the shapes and the errors."""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.models import IncomingMessage

if TYPE_CHECKING:
    from channels.base import ChannelSender

log = logging.getLogger("batchbot.channels")


MAX_IMAGE_BYTES = 10 * 1024 * 1024
"""A photo larger than this is not inlined for a model (it appears as [photo])."""


class MediaUnavailable(Exception):
    """A message's file could not be had; the text says why, for the backend and the logs
    (the file is gone, over the cap, or the platform refused it)."""


@dataclass(frozen=True, slots=True)
class Media:
    content: bytes
    mime_type: str | None


def too_large(size: int, max_bytes: int) -> MediaUnavailable:
    return MediaUnavailable(f"the file is {size:,} bytes, over the cap of {max_bytes:,} bytes")


async def image_of(sender: ChannelSender, message: IncomingMessage) -> str | None:
    """A photo the person sent, as a data URL for a model that sees images; None (it
    appears as [photo]) if it cannot be had."""
    try:
        media = await sender.fetch_media(message, MAX_IMAGE_BYTES)
    except MediaUnavailable as why:
        log.warning("photo %s not shown to the model: %s", message.message_id, why)
        return None
    return data_url(media.content, media.mime_type or message.mime_type)


def data_url(content: bytes, mime_type: str | None) -> str:
    """Bytes as a ``data:`` URL, the way chat-completions APIs take inline images."""
    return f"data:{mime_type or 'image/jpeg'};base64,{base64.b64encode(content).decode()}"
