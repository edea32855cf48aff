"""A batch as chat-completions messages: the system prompt, the remembered turns, and the
burst as one user message (media as short placeholders, or photos inline with vision)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from shared.models import BatchRequest, IncomingMessage, MessageKind

ImageFetcher = Callable[[IncomingMessage], Awaitable[str | None]]
"""A photo as a data URL (``data:image/jpeg;base64,...``), or None if it could not be had.
The worker fetches it with the channel's own credentials, which never reach the model."""

_PLACEHOLDERS = {
    MessageKind.PHOTO: "[photo]",
    MessageKind.VIDEO: "[video]",
    MessageKind.VOICE: "[voice message]",
    MessageKind.AUDIO: "[audio]",
    MessageKind.STICKER: "[sticker]",
    MessageKind.OTHER: "[unsupported message]",
}


def placeholder(message: IncomingMessage) -> str:
    """What a model reads for one message: its words, with a mark for what it cannot see."""
    words = message.words() or ""
    kind = message.kind
    if kind is MessageKind.TEXT or kind is MessageKind.INTERACTIVE:
        if message.data is not None:  # a form's answers: the model reads them as JSON
            return f"{words} [form: {json.dumps(message.data, ensure_ascii=False)}]".strip()
        return words
    if kind is MessageKind.ORDER and message.order is not None:
        items = ", ".join(f"{item.quantity} x {item.product_id}" for item in message.order.items)
        return f"[order: {items}] {words}".strip()
    if kind is MessageKind.DOCUMENT:
        mark = f"[document: {message.file_name}]" if message.file_name else "[document]"
    elif kind is MessageKind.LOCATION and message.location is not None:
        where = message.location.name or f"{message.location.latitude},{message.location.longitude}"
        mark = f"[location: {where}]"
    elif kind is MessageKind.CONTACT and message.contact is not None:
        mark = f"[contact: {message.contact.first_name} {message.contact.phone_number}]"
    elif kind is MessageKind.REACTION:
        mark = f"[reacted {message.emoji}]" if message.emoji else "[removed a reaction]"
    elif kind is MessageKind.STICKER and message.emoji:
        mark = f"[sticker {message.emoji}]"
    else:
        mark = _PLACEHOLDERS.get(kind, f"[{kind.value}]")
    return f"{mark} {words}".strip()


async def chat_messages(
    request: BatchRequest, system_prompt: str | None, fetch_image: ImageFetcher | None
) -> list[dict[str, Any]]:
    """``messages`` for the chat-completions request, in the order the model reads them."""
    messages: list[dict[str, Any]] = []
    if system_prompt:
        messages.append({"role": "system", "content": system_prompt})
    for turn in request.history or []:
        messages.append({"role": turn.role, "content": turn.text})
    messages.append({"role": "user", "content": await _user_content(request, fetch_image)})
    return messages


async def _user_content(
    request: BatchRequest, fetch_image: ImageFetcher | None
) -> str | list[dict[str, Any]]:
    lines = [placeholder(message) for message in request.messages]
    text = "\n".join(line for line in lines if line)
    photos = [m for m in request.messages if m.kind is MessageKind.PHOTO]
    if fetch_image is None or not photos:
        return text
    parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
    for photo in photos:
        url = await fetch_image(photo)
        if url is not None:
            parts.append({"type": "image_url", "image_url": {"url": url}})
    return parts
