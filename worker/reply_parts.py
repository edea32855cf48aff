"""An answer as the exact sequence of chat messages it becomes: pure functions, no I/O.

The sequence is deterministic for a given answer and batch, so the count of parts
sent, stored in Redis, tells a re-run exactly where to continue.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from channels.base import Limits
from shared.models import BatchRequest, BatchResponse, MessageId, OutgoingMessage

TEXT_LIMIT = 4096
"""Telegram and WhatsApp refuse a text message longer than this many characters."""

DEFAULT_LIMITS = Limits(text=TEXT_LIMIT, caption=1024)

_BOUNDARIES = ("\n\n", "\n", ". ", "! ", "? ", "; ", ", ", " ")
"""Where a long text may be cut, best first: paragraph, line, sentence, clause, word."""


@dataclass(frozen=True, slots=True)
class ReplyPart:
    """One chat message: text, or a photo with the text as its caption."""

    text: str
    parse_mode: str | None
    photo: str | None = None
    reply_to: MessageId | None = None


def split_text(text: str, limit: int = TEXT_LIMIT, max_bytes: int | None = None) -> list[str]:
    """Cut text into pieces the chat accepts, at the best boundary in each piece's second
    half (so no piece is needlessly short), else hard at the limit. ``max_bytes``: the
    platform also counts UTF-8 bytes (Instagram), so a piece in another script is shorter."""
    parts: list[str] = []
    rest = text
    while len(rest) > (here := _fitting(rest, limit, max_bytes)):
        window = rest[:here]
        cut = here
        for boundary in _BOUNDARIES:
            found = window.rfind(boundary)
            if found >= here // 2:
                cut = found + len(boundary.rstrip())  # a sentence keeps its full stop
                break
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return [part for part in parts if part]


def _fitting(text: str, limit: int, max_bytes: int | None) -> int:
    """The longest prefix, up to ``limit`` characters, within ``max_bytes`` of UTF-8."""
    if max_bytes is None or len(text[:limit].encode()) <= max_bytes:
        return limit
    low, high = 1, limit  # the first character always fits: no platform counts fewer bytes
    while low < high:
        middle = (low + high + 1) // 2
        if len(text[:middle].encode()) <= max_bytes:
            low = middle
        else:
            high = middle - 1
    return low


def _parts_of(message: OutgoingMessage, limits: Limits) -> list[ReplyPart]:
    text = message.text or ""
    if message.photo is None:
        pieces = [
            ReplyPart(piece, message.parse_mode)
            for piece in split_text(text, limits.text, limits.text_bytes)
        ]
    else:
        caption = split_text(text, limits.caption)[:1]
        rest = text[len(caption[0]) :].strip() if caption else ""
        pieces = [ReplyPart(caption[0] if caption else "", message.parse_mode, message.photo)]
        pieces += [
            ReplyPart(piece, message.parse_mode)
            for piece in split_text(rest, limits.text, limits.text_bytes)
        ]
    if message.reply_to_message_id is not None and pieces:
        pieces[0] = dataclasses.replace(pieces[0], reply_to=message.reply_to_message_id)
    return pieces


def reply_parts(
    answer: BatchResponse,
    reply_to_first: MessageId | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> list[ReplyPart]:
    """The messages of an answer, in order, each within the channel's ``limits``;
    ``reply_to_first`` makes the first one a reply unless the backend chose what it
    replies to."""
    parts = [part for message in answer.messages for part in _parts_of(message, limits)]
    if reply_to_first is not None and parts and parts[0].reply_to is None:
        parts[0] = dataclasses.replace(parts[0], reply_to=reply_to_first)
    return parts


def batch_reply_target(request: BatchRequest) -> MessageId | None:
    """In a group, the answer replies to the batch's last message, so the people in the
    chat see whom it answers; in a private chat it needs no reply."""
    if request.chat.type == "private":
        return None
    return request.messages[-1].message_id


def pacing_seconds(part: ReplyPart, per_character: float, max_seconds: float) -> float:
    """How long 'typing…' shows before a reply message after the first: as if written."""
    return min(max_seconds, per_character * len(part.text))
