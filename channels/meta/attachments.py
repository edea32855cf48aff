"""The attachments of a Messenger Platform message (Instagram Direct, Facebook Messenger) as
the contract's fields, in the shapes Meta documents: media, stickers (the ``sticker`` type
and the older ``image`` with a ``sticker_id``), a shared location, and everything else
(shares, posts, reels, templates, ``fallback`` links) as kind ``other``.
"""

from __future__ import annotations

from typing import Any

from shared.message_parts import Location
from shared.models import MessageKind

MEDIA_KINDS = {
    "image": MessageKind.PHOTO,
    "video": MessageKind.VIDEO,
    "audio": MessageKind.AUDIO,
    "file": MessageKind.DOCUMENT,
}
"""Attachments the person sent as media; a sticker is kind ``sticker``, a location with
coordinates kind ``location``; every other type (Instagram's share, ig_post, ig_reel,
reel, story_mention; Messenger's template and fallback) is kept as ``other`` with its
type as ``content_type``, its title as the caption and its link as ``url``."""


class Unreadable(ValueError):
    """An event without a field it needs; the message names the field."""


def attachments_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The contract's fields of each of the message's attachments, a sticker once: while
    Meta moves stickers to their own ``sticker`` type (until 30 August 2026) it sends both
    that and the old ``image`` with a ``sticker_id``; the old one is left out then."""
    found = [a for a in message.get("attachments") or [] if isinstance(a, dict)]
    if any(a.get("type") == "sticker" for a in found):
        found = [a for a in found if not (a.get("type") == "image" and _is_sticker_image(a))]
    return [_attachment(attachment) for attachment in found]


def _is_sticker_image(attachment: dict[str, Any]) -> bool:
    payload = attachment.get("payload")
    return isinstance(payload, dict) and payload.get("sticker_id") is not None


def _attachment(attachment: dict[str, Any]) -> dict[str, Any]:
    """One attachment's fields. Meta puts a link's ``title`` and ``url`` on the attachment
    itself for a ``fallback`` (with ``"payload": null``) and a ``location``, inside the
    payload for shares: both are read."""
    kind = str(attachment.get("type") or "")
    raw_payload = attachment.get("payload")
    payload: dict[str, Any] = raw_payload if isinstance(raw_payload, dict) else {}
    url = _text(payload, "url") or _text(attachment, "url") or _text(attachment, "URL")
    title = _text(payload, "title") or _text(attachment, "title")
    if kind == "sticker" or (kind == "image" and payload.get("sticker_id") is not None):
        return {"kind": MessageKind.STICKER, "url": url, "content_type": "sticker"}
    if kind in MEDIA_KINDS:
        return {"kind": MEDIA_KINDS[kind], "url": url}
    if not kind:
        raise Unreadable("attachments[].type: missing")
    if kind == "location" and (where := _coordinates(payload)) is not None:
        return {"kind": MessageKind.LOCATION, "location": where, "url": url, "caption": title}
    return {"kind": MessageKind.OTHER, "content_type": kind[:64], "url": url, "caption": title}


def _coordinates(payload: dict[str, Any]) -> Location | None:
    """A shared location's ``payload.coordinates`` (``lat``, ``long``); None without them."""
    coordinates = payload.get("coordinates")
    if not isinstance(coordinates, dict):
        return None
    latitude, longitude = coordinates.get("lat"), coordinates.get("long")
    if not isinstance(latitude, int | float) or not isinstance(longitude, int | float):
        raise Unreadable("attachments[].payload.coordinates: lat and long must be numbers")
    return Location(latitude=latitude, longitude=longitude)


def _text(raw: dict[str, Any], key: str) -> str | None:
    value = raw.get(key)
    return value if isinstance(value, str) and value else None
