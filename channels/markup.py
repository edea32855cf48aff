"""A backend writes Telegram's markup (HTML or MarkdownV2); channels without it get the
plain text, since they would show tags and escapes as typed."""

from __future__ import annotations

import html
import re

_TAG = re.compile(r"<[^>]+>")
_MARKDOWN_V2_ESCAPE = re.compile(r"\\([_*\[\]()~`>#+\-=|{}.!\\])")


def plain_text(text: str, parse_mode: str | None) -> str:
    """The markup taken out (WhatsApp's own ``*bold*`` and ``_italic_`` work as typed)."""
    if parse_mode == "HTML":
        return html.unescape(_TAG.sub("", text))
    if parse_mode == "MarkdownV2":
        return _MARKDOWN_V2_ESCAPE.sub(r"\1", text)
    return text
