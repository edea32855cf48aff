"""The Bot API stand-in's side of messages edited as an answer grows (business chats and
groups have no drafts): editMessageText, deleting messages, and the person deleting one."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from sandbox.telegram_records import Edit, SentMessage
from sandbox.telegram_wire import bot_message_json

TEXT_LIMIT = 4096


def bad_request(description: str) -> web.HTTPBadRequest:
    """A 400 as Telegram words it, raised from a method's handler."""
    body = {"ok": False, "error_code": 400, "description": f"Bad Request: {description}"}
    return web.HTTPBadRequest(text=json.dumps(body), content_type="application/json")


class EditsSurface:
    """Mixed into :class:`sandbox.telegram_api.TelegramStandIn`."""

    sent: list[SentMessage]
    edits: list[Edit]
    deleted: list[SentMessage]
    on_event: Callable[[str], None] | None
    _changed: asyncio.Condition

    def edit_methods(self) -> dict[str, Callable[[dict[str, str]], Any]]:
        return {
            "editMessageText": self._edit_message_text,
            "deleteMessage": self._delete_message,
            "deleteBusinessMessages": self._delete_business_messages,
        }

    async def person_deletes(self, chat_id: int, message_id: int) -> None:
        """The person deletes a message the bot sent: it can no longer be edited."""
        async with self._changed:
            self._take(chat_id, message_id, None)
            self._changed.notify_all()

    def edits_of(self, chat_id: int, message_id: int) -> list[Edit]:
        return [e for e in self.edits if (e.chat_id, e.message_id) == (chat_id, message_id)]

    async def _edit_message_text(self, params: dict[str, str]) -> Any:
        chat_id, message_id = int(params["chat_id"]), int(params["message_id"])
        connection = params.get("business_connection_id")
        text, parse_mode = params["text"], params.get("parse_mode")
        index = self._index_of(chat_id, message_id, connection)
        if index is None:
            raise bad_request("message to edit not found")
        if len(text) > TEXT_LIMIT:
            raise bad_request("MESSAGE_TOO_LONG")
        before = self.sent[index]
        if (before.text, before.parse_mode) == (text, parse_mode):
            raise bad_request(
                "message is not modified: specified new message content and reply markup "
                "are exactly the same as a current content and reply markup of the message"
            )
        edit = Edit(chat_id, message_id, text, time.monotonic(), parse_mode, connection)
        async with self._changed:
            self.sent[index] = dataclasses.replace(before, text=text, parse_mode=parse_mode)
            self.edits.append(edit)
            self._changed.notify_all()
        if self.on_event:
            self.on_event(f"Telegram ← bot edits message {message_id} in chat {chat_id}: {text!r}")
        return {**bot_message_json(chat_id, message_id, text, None), "edit_date": int(time.time())}

    async def _delete_message(self, params: dict[str, str]) -> Any:
        if not self._take(int(params["chat_id"]), int(params["message_id"]), None):
            raise bad_request("message to delete not found")
        return True

    async def _delete_business_messages(self, params: dict[str, str]) -> Any:
        connection = params["business_connection_id"]
        for message_id in json.loads(params["message_ids"]):
            found = next((m for m in self.sent if m.message_id == message_id
                          and m.business_connection_id == connection), None)  # fmt: skip
            if found is not None:
                self._take(found.chat_id, message_id, connection)
        return True

    def _index_of(self, chat_id: int, message_id: int, connection: str | None) -> int | None:
        for index, message in enumerate(self.sent):
            if (message.chat_id, message.message_id) == (chat_id, message_id):
                return index if message.business_connection_id == connection else None
        return None

    def _take(self, chat_id: int, message_id: int, connection: str | None) -> bool:
        for index, message in enumerate(self.sent):
            if (message.chat_id, message.message_id) == (chat_id, message_id):
                self.deleted.append(self.sent.pop(index))
                return True
        return False
