"""Telegram's wire formats as the Bot API stand-in speaks them: the messages a simulated
person sends (handed to the bot by getUpdates), the messages the bot's calls return,
request parameters and error bodies."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

BOT_USER = {"id": 123456, "is_bot": True, "first_name": "batchbot", "username": "batchbot_sandbox"}


@dataclass(frozen=True, slots=True)
class Person:
    id: int
    first_name: str
    username: str | None = None
    language_code: str | None = "en"
    is_bot: bool = False
    """Another bot writing (Bot API 10.0 lets bots message each other)."""

    def as_telegram(self) -> dict[str, Any]:
        user: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user


def message_json(
    person: Person,
    message_id: int,
    text: str | None = None,
    *,
    photo: str | None = None,
    caption: str | None = None,
    media_group_id: str | None = None,
    reply_to_bot: int | None = None,
    reply_to: int | None = None,
    forwarded_from: str | None = None,
    chat_id: int | None = None,
    chat_type: str = "private",
) -> dict[str, Any]:
    """A message as Telegram sends it, with only the fields given."""
    chat = _chat(person, person.id if chat_id is None else chat_id, chat_type)
    message: dict[str, Any] = {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": chat,
        "from": person.as_telegram(),
    }
    if text is not None:
        message["text"] = text
        mentions = _mentions(text)
        if mentions:
            message["entities"] = mentions  # as Telegram marks @usernames
    if photo is not None:
        message["photo"] = _photo_sizes(photo)
    if caption is not None:
        message["caption"] = caption
    if media_group_id is not None:
        message["media_group_id"] = media_group_id
    if reply_to is not None:  # one of the person's own earlier messages
        message["reply_to_message"] = _earlier(reply_to, chat, person.as_telegram(), "message")
    if forwarded_from is not None:
        message["forward_origin"] = {
            "type": "hidden_user",
            "sender_user_name": forwarded_from,
            "date": int(time.time()),
        }
    if reply_to_bot is not None:
        message["reply_to_message"] = _earlier(reply_to_bot, chat, BOT_USER, "answer")
    return message


def bot_message_json(chat_id: int, message_id: int, text: str, photo: str | None) -> dict[str, Any]:
    """The message the Bot API returns for a sendMessage or sendPhoto call."""
    chat_type = "private" if chat_id > 0 else "supergroup"
    message: dict[str, Any] = {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": chat_type},
        "from": BOT_USER,
    }
    if photo is None:
        message["text"] = text
        return message
    message["photo"] = [{"file_id": photo, "file_unique_id": photo, "width": 1, "height": 1}]
    if text:
        message["caption"] = text
    return message


def _chat(person: Person, chat_id: int, chat_type: str) -> dict[str, Any]:
    chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
    if chat_type == "private":
        chat["first_name"] = person.first_name
    else:
        chat["title"] = f"group {chat_id}"
    return chat


def _photo_sizes(photo: str) -> list[dict[str, Any]]:
    """Telegram sends every photo in several sizes; batchbot takes the largest."""
    return [
        {"file_id": f"{photo}-small", "file_unique_id": f"{photo}-s", "width": 90, "height": 90},
        {"file_id": photo, "file_unique_id": f"{photo}-l", "width": 1280, "height": 960},
    ]


def _mentions(text: str) -> list[dict[str, Any]]:
    return [
        {
            "type": "mention",
            "offset": _utf16_length(text[: match.start()]),
            "length": _utf16_length(match.group()),
        }
        for match in re.finditer(r"@\w+", text)
    ]


def _earlier(
    message_id: int, chat: dict[str, Any], sender: dict[str, Any], what: str
) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": chat,
        "from": sender,
        "text": f"an earlier {what}",
    }


def _utf16_length(text: str) -> int:
    """Telegram measures entity offsets in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


async def request_params(request: web.Request) -> dict[str, str]:
    """aiogram sends form fields; other clients may send JSON or a query string."""
    params: dict[str, str] = dict(request.query)
    if request.content_type == "application/json":
        body = await request.json()
        params.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()})
    elif request.can_read_body:
        form = await request.post()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    return params


def error_response(
    status: int, description: str, parameters: dict[str, Any] | None = None
) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)


def polling_conflict() -> web.HTTPConflict:
    """What Telegram answers a getUpdates cut short by another instance's getUpdates."""
    description = (
        "Conflict: terminated by other getUpdates request; make sure that only one bot "
        "instance is running"
    )
    body = {"ok": False, "error_code": 409, "description": description}
    return web.HTTPConflict(text=json.dumps(body), content_type="application/json")


def photo_bytes(file_id: str) -> bytes:
    """The sandbox's 'photo' for a file id: a JPEG start marker and the id."""
    return b"\xff\xd8\xff\xe0sandbox-photo:" + file_id.encode()


def file_json(file_id: str) -> dict[str, Any]:
    """getFile's answer for a sandbox photo: where :func:`photo_bytes` is downloaded."""
    size = len(photo_bytes(file_id))
    path = f"photos/{file_id}.jpg"
    return {
        "file_id": file_id,
        "file_unique_id": f"u-{file_id}",
        "file_size": size,
        "file_path": path,
    }


def downloaded_file_id(path: str) -> str:
    return path.removeprefix("photos/").removesuffix(".jpg")
