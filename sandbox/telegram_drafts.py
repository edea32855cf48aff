"""The Bot API stand-in's side of an answer being written (Bot API 10.x): drafts with
their flags as the bot sent them, and the person pressing Stop under one."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from sandbox.telegram_records import Draft
from sandbox.telegram_wire import Person


class DraftsSurface:
    """Mixed into :class:`sandbox.telegram_api.TelegramStandIn`."""

    drafts: list[Draft]
    on_event: Callable[[str], None] | None
    _changed: asyncio.Condition

    def update_of(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    async def deliver(self, *updates: dict[str, Any]) -> None:
        raise NotImplementedError

    async def press_stop(self, person: Person, draft_id: int) -> None:
        """The person presses Stop under a draft: a ``stopped_message_generation`` update."""
        chat = {"id": person.id, "type": "private", "first_name": person.first_name}
        payload = {"chat": chat, "draft_id": draft_id}
        await self.deliver(self.update_of("stopped_message_generation", payload))

    async def _send_message_draft(self, params: dict[str, str]) -> Any:
        return await self._draft(params, params.get("text", ""), "")

    async def _send_rich_message_draft(self, params: dict[str, str]) -> Any:
        """The blocks batchbot sends: a thinking block, then the answer as a paragraph."""
        blocks = json.loads(params["rich_message"]).get("blocks", [])
        kinds: dict[str, str] = {block["type"]: block["text"] for block in blocks}
        return await self._draft(params, kinds.get("paragraph", ""), kinds.get("thinking", ""))

    async def _draft(self, params: dict[str, str], text: str, reasoning: str) -> Any:
        chat_id, draft_id = int(params["chat_id"]), int(params["draft_id"])
        flags = {name: params.get(name) == "true" for name in ("can_stop", "keep_on_stop")}
        draft = Draft(chat_id, draft_id, text, time.monotonic(), reasoning=reasoning, **flags)
        async with self._changed:
            self.drafts.append(draft)
            self._changed.notify_all()
        if self.on_event:
            self.on_event(f"Telegram ← bot to chat {draft.chat_id}: (draft) {draft.text!r}")
        return True
