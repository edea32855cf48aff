"""A Bot API server on loopback that plays Telegram for the demo and the tests.

It speaks the subset batchbot uses (getMe, getUpdates with long polling, sendMessage and
more) at ``/bot<token>/<method>``, where aiogram sends requests when ``TELEGRAM_API_URL``
points here. People are simulated with :meth:`TelegramStandIn.person_says` (over HTTP:
:mod:`sandbox.telegram_control`); business updates: :mod:`sandbox.telegram_business`."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from sandbox.telegram_control import add_control_routes
from sandbox.telegram_drafts import DraftsSurface
from sandbox.telegram_edits import EditsSurface
from sandbox.telegram_files import FilesSurface
from sandbox.telegram_records import ChatAction, Draft, Edit, ForcedError, Hold, SentMessage
from sandbox.telegram_wire import (
    BOT_USER,
    Person,
    bot_message_json,
    error_response,
    message_json,
    polling_conflict,
    request_params,
)

# fmt: off
__all__ = ["BOT_USER", "ChatAction", "Draft", "Edit", "ForcedError", "Hold", "Person",
           "SentMessage", "TelegramStandIn"]
# fmt: on

SANDBOX_TOKEN = "123456:sandbox-token"
MAX_LONG_POLL_SECONDS = 50


@dataclass
class TelegramStandIn(DraftsSurface, EditsSurface, FilesSurface):
    token: str = SANDBOX_TOKEN
    also_tokens: set[str] = field(default_factory=set)
    """More bots this Bot API serves (TENANTS_FILE benchmarks): sent to alike."""
    sent: list[SentMessage] = field(default_factory=list)
    chat_actions: list[ChatAction] = field(default_factory=list)
    drafts: list[Draft] = field(default_factory=list)
    edits: list[Edit] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    downloads: list[tuple[str, float]] = field(default_factory=list)
    """Photos downloaded (file id, when), as the bot's workers fetched them."""
    """Files people sent (voice notes), by file id, served by getFile and its download."""
    deleted: list[SentMessage] = field(default_factory=list)
    """Messages the bot or the person deleted, as they were."""
    on_event: Callable[[str], None] | None = None
    allowed_updates: list[str] | None = None
    """The update types the bot last asked getUpdates for."""

    def __post_init__(self) -> None:
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._changed = asyncio.Condition()
        self._forced: dict[str, list[ForcedError | None]] = {}
        self._runner: web.AppRunner | None = None
        self._polled = False
        self._polls = 0  # a getUpdates while another waits: two bots poll (409 to the older)
        self.conflicts = 0  # 409s answered: one for each getUpdates another poller cut off
        self._stopping = False
        self.url = ""
        self._holds: dict[str, list[tuple[int, Hold]]] = {}

    # -- lifecycle -------------------------------------------------------------------
    async def start(self, port: int = 0) -> str:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._bot_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        add_control_routes(app, self)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        bound = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{bound}"
        return self.url

    async def stop(self) -> None:
        """Stop at once: a long poll under way is answered now, not when its timeout ends."""
        async with self._changed:
            self._stopping = True
            self._changed.notify_all()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- the simulated person --------------------------------------------------------
    async def person_says(
        self, person: Person, text: str | None = None, **details: Any
    ) -> dict[str, Any]:
        """Queue an update as Telegram would (``details`` as for :meth:`compose`); returns it."""
        update = self.compose(person, text, **details)
        await self.deliver(update)
        return update

    def compose(self, person: Person, text: str | None = None, **details: Any) -> dict[str, Any]:
        """An update with the next ids, not yet delivered (``details``: ``message_json``'s)."""
        chat_id = details.get("chat_id") or person.id
        counter = self._message_ids.setdefault(chat_id, itertools.count(1))
        message = message_json(person, next(counter), text, **details)
        return {"update_id": next(self._update_ids), "message": message}

    def update_of(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Any update, e.g. ``business_connection``, with the next update id."""
        return {"update_id": next(self._update_ids), kind: payload}

    def next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def edit(self, update: dict[str, Any], text: str) -> dict[str, Any]:
        """An ``edited_message`` update: the message of ``update`` with new text."""
        edited = {**update["message"], "text": text, "edit_date": int(time.time())}
        return {"update_id": next(self._update_ids), "edited_message": edited}

    async def deliver(self, *updates: dict[str, Any]) -> None:
        """Hand the bot updates as they are, in this order and in one getUpdates answer.

        Passing the same update twice is how Telegram's redelivery looks to a bot.
        """
        async with self._changed:
            self._updates.extend(updates)
            self._changed.notify_all()

    def fail_next(self, method: str, error: ForcedError, *, after_successes: int = 0) -> None:
        """Make a coming call of ``method`` fail, after letting ``after_successes`` through."""
        queue = self._forced.setdefault(method, [])
        queue.extend([None] * after_successes)
        queue.append(error)

    async def wait_for_sent(self, count: int, timeout_seconds: float = 30.0) -> None:
        """Wait until the bot has sent ``count`` messages in all, to anyone."""
        async with asyncio.timeout(timeout_seconds), self._changed:
            await self._changed.wait_for(lambda: len(self.sent) >= count)

    def hold(self, method: str, *, after_calls: int = 0) -> Hold:
        """Keep a coming call of ``method`` waiting until released, as a stalled Telegram would.

        ``after_calls`` calls go through first. The call counts as made by Telegram when
        released, even if the caller has gone away meanwhile, as with the real service.
        """
        held = Hold()
        self._holds.setdefault(method, []).append((after_calls, held))
        return held

    async def _wait_if_held(self, method: str) -> None:
        holds = self._holds.get(method)
        if not holds:
            return
        passes, held = holds[0]
        if passes > 0:
            holds[0] = (passes - 1, held)
            return
        holds.pop(0)
        held.arrived.set()
        await held.released.wait()

    def messages_to(self, chat_id: int) -> list[str]:
        return [m.text for m in self.sent if m.chat_id == chat_id]

    async def wait_for_messages(
        self, chat_id: int, count: int, timeout_seconds: float = 30.0
    ) -> list[str]:
        """Wait until the bot has sent ``count`` messages to the chat; fails on timeout."""
        async with asyncio.timeout(timeout_seconds), self._changed:
            await self._changed.wait_for(lambda: len(self.messages_to(chat_id)) >= count)
        return self.messages_to(chat_id)

    async def wait_for_poller(self, timeout_seconds: float = 60.0) -> None:
        """Wait until a bot has asked for updates: from then on nothing it is sent is missed."""
        async with asyncio.timeout(timeout_seconds), self._changed:
            await self._changed.wait_for(lambda: self._polled)

    # -- Bot API ----------------------------------------------------------------------
    async def _bot_api(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        if token != self.token and token not in self.also_tokens:
            return error_response(401, "Unauthorized")
        method = request.match_info["method"]
        params = await request_params(request)
        await self._wait_if_held(method)
        forced = self._forced.get(method)
        error = forced.pop(0) if forced else None
        if error is not None:
            extra = {"retry_after": error.retry_after} if error.retry_after is not None else None
            return error_response(error.status, error.description, extra)
        handler = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "deleteWebhook": self._true,
            "setWebhook": self._true,
            "sendChatAction": self._send_chat_action,
            "sendMessageDraft": self._send_message_draft,
            "sendRichMessageDraft": self._send_rich_message_draft,
            "getFile": self._get_file,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            **self.edit_methods(),
        }.get(method)
        if handler is None:
            return error_response(404, f"Not Found: method {method} is not in the sandbox")
        result = await handler(params)
        return web.json_response({"ok": True, "result": result})

    async def wait_for_conflicts(self, count: int, timeout_seconds: float = 60.0) -> None:
        """Wait until ``count`` getUpdates calls were answered 409 (two bots poll)."""
        async with asyncio.timeout(timeout_seconds), self._changed:
            await self._changed.wait_for(lambda: self.conflicts >= count)

    def unconfirmed_texts(self) -> list[str]:
        """The texts of updates the bot has not confirmed yet (no getUpdates with a later
        offset): Telegram would deliver them again."""
        return [str(u.get("message", {}).get("text")) for u in self._updates if "message" in u]

    async def _get_me(self, params: dict[str, str]) -> Any:
        return BOT_USER

    async def _true(self, params: dict[str, str]) -> Any:
        return True

    async def _get_updates(self, params: dict[str, str]) -> Any:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = min(float(params.get("timeout") or 0), MAX_LONG_POLL_SECONDS)
        if params.get("allowed_updates"):
            self.allowed_updates = json.loads(params["allowed_updates"])
        async with self._changed:
            self._polled, self._polls, mine = True, self._polls + 1, self._polls + 1
            self._changed.notify_all()
            if offset:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            if not self._updates and timeout > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        await self._changed.wait_for(
                            lambda: bool(self._updates) or self._stopping or self._polls != mine
                        )
            if self._polls != mine:  # as Telegram does when a second instance polls
                self.conflicts += 1
                self._changed.notify_all()
                raise polling_conflict()
            return self._updates[:limit]

    async def _send_chat_action(self, params: dict[str, str]) -> Any:
        chat_id, connection = int(params["chat_id"]), params.get("business_connection_id")
        action = ChatAction(chat_id, params.get("action", ""), time.monotonic(), connection)
        self.chat_actions.append(action)
        if self.on_event:
            self.on_event(f"Telegram ← bot to chat {action.chat_id}: ({action.action}…)")
        return True

    async def _send_message(self, params: dict[str, str]) -> Any:
        return await self._record(params, params["text"], photo=None)

    async def _send_photo(self, params: dict[str, str]) -> Any:
        """A photo by file_id or URL (uploads are not part of the sandbox)."""
        return await self._record(params, params.get("caption", ""), photo=params["photo"])

    async def _record(self, params: dict[str, str], text: str, photo: str | None) -> Any:
        chat_id = int(params["chat_id"])
        counter = self._message_ids.setdefault(chat_id, itertools.count(1))
        message_id = next(counter)
        replying = json.loads(params.get("reply_parameters") or "{}")
        sent = SentMessage(
            chat_id,
            message_id,
            text,
            time.monotonic(),
            params.get("parse_mode"),
            replying.get("message_id"),
            photo,
            params.get("business_connection_id"),
        )
        async with self._changed:
            self.sent.append(sent)
            self._changed.notify_all()
        if self.on_event:
            shown = f"[photo {photo}] {text!r}" if photo else repr(text)
            self.on_event(f"Telegram ← bot to chat {chat_id}: {shown}")
        return bot_message_json(chat_id, message_id, text, photo)
