"""The Messenger Platform's Send API on loopback, playing Meta for Instagram or Messenger.

Both directions, as Meta does them: ``POST /<version>/<account id>/messages`` that the
workers send to (texts, image attachments, ``sender_action``; bearer token; the
platform's text limit), and signed webhook deliveries of what simulated people write,
POSTed to the bot's ``/webhook/instagram`` or ``/webhook/messenger``.
``POST /sandbox/messages`` and ``GET /sandbox/sent`` do the same over HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiohttp import web

from sandbox.messaging_wire import (
    SANDBOX_INSTAGRAM_ACCOUNT_ID,
    SANDBOX_PAGE_ID,
    delivery_json,
    echo_event,
    next_mid,
    text_event,
)
from sandbox.meta_stand_in import MetaStandIn
from sandbox.whatsapp_api import SANDBOX_APP_SECRET
from sandbox.whatsapp_wire import graph_error

API_VERSION = "v26.0"


@dataclass(frozen=True, slots=True)
class PlatformShape:
    """What differs between the two platforms the stand-in plays."""

    name: str
    channel: str
    """The contract's channel, and the webhook's path: ``instagram`` or ``messenger``."""
    object: str
    account: str
    access_token: str
    text_limit: int
    text_limit_bytes: bool
    """Instagram counts the limit in UTF-8 bytes, Messenger in characters."""


@dataclass(frozen=True, slots=True)
class Sent:
    to: str
    text: str
    mid: str
    at: float
    account: str
    image: str | None = None


@dataclass(frozen=True, slots=True)
class ForcedError:
    """What the next send answers instead of succeeding."""

    status: int
    code: int
    message: str
    subcode: int | None = None


@dataclass
class SendApiStandIn(MetaStandIn):
    shape: PlatformShape
    app_secret: str = SANDBOX_APP_SECRET
    webhook_url: str = ""
    """The bot's ``.../webhook/<channel>``; set once the bot's port is known."""
    sent: list[Sent] = field(default_factory=list)
    actions: list[tuple[str, str]] = field(default_factory=list)
    """(person, sender_action) in the order asked: mark_seen, typing_on."""
    refused_calls: int = 0
    on_event: Callable[[str], None] | None = None
    echo_sends: bool = True
    """As Meta does, deliver each message the bot sends back to its webhook as an echo
    (``is_echo``, with the ``metadata`` it was sent with)."""

    def __post_init__(self) -> None:
        self._changed = asyncio.Condition()
        self._forced: list[ForcedError] = []
        self._echoing: set[asyncio.Task[None]] = set()

    @property
    def api_url(self) -> str:
        """What INSTAGRAM_API_URL or MESSENGER_API_URL is set to."""
        return f"{self.url}/{API_VERSION}"

    async def start(self, port: int = 0) -> str:
        app = web.Application()
        app.router.add_post("/{version}/{account}/messages", self._messages)
        app.router.add_post("/sandbox/messages", self._control_message)
        app.router.add_get("/sandbox/sent", self._control_sent)
        return await self.serve(app, port)

    # -- the simulated people --------------------------------------------------------
    async def person_says(self, person: str, *texts: str) -> list[dict[str, Any]]:
        """Each text as its own signed delivery, as Meta sends them; returns the events.
        Fails unless the bot answers 200."""
        events = [text_event(person, self.shape.account, text) for text in texts]
        for one in events:
            await self.deliver_events(one)
        return events

    async def deliver_events(self, *events: dict[str, Any]) -> None:
        status = await self.deliver(delivery_json(self.shape.object, self.shape.account, *events))
        if status != 200:
            raise AssertionError(f"the bot answered {status} to a {self.shape.name} delivery")

    def fail_next(self, error: ForcedError) -> None:
        self._forced.append(error)

    def messages_to(self, person: str) -> list[str]:
        return [m.text for m in self.sent if m.to == person]

    async def wait_for_messages(
        self, person: str, count: int, timeout_seconds: float = 30.0
    ) -> list[str]:
        """Wait until the bot has sent ``count`` messages to the person; fails on timeout."""
        async with asyncio.timeout(timeout_seconds), self._changed:
            await self._changed.wait_for(lambda: len(self.messages_to(person)) >= count)
        return self.messages_to(person)

    # -- the Send API --------------------------------------------------------------------
    async def _messages(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization", "") != f"Bearer {self.shape.access_token}":
            self.refused_calls += 1
            body = graph_error(190, "Invalid OAuth access token - Cannot parse access token")
            return web.json_response(body, status=401)
        payload = await request.json()
        person = str(payload.get("recipient", {}).get("id", ""))
        if "sender_action" in payload:
            async with self._changed:
                self.actions.append((person, str(payload["sender_action"])))
                self._changed.notify_all()
            return web.json_response({"recipient_id": person})
        if self._forced:
            error = self._forced.pop(0)
            body = graph_error(error.code, error.message)
            if error.subcode is not None:
                body["error"]["error_subcode"] = error.subcode
            return web.json_response(body, status=error.status)
        refusal = self._refusal(payload)
        if refusal is not None:
            return web.json_response(graph_error(100, refusal), status=400)
        message = payload["message"]
        attachment = message.get("attachment") or {}
        sent = Sent(
            to=person,
            text=str(message.get("text", "")),
            mid=next_mid(),
            at=time.monotonic(),
            account=request.match_info["account"],
            image=attachment.get("payload", {}).get("url") if attachment else None,
        )
        async with self._changed:
            self.sent.append(sent)
            self._changed.notify_all()
        if self.on_event:
            self.on_event(f"{self.shape.name} → {sent.to}: {sent.text or sent.image!r}")
        if self.echo_sends and self.webhook_url:
            self._echo(sent, message.get("metadata"))
        return web.json_response({"recipient_id": person, "message_id": sent.mid})

    def _echo(self, sent: Sent, metadata: str | None) -> None:
        echo = echo_event(sent.to, sent.account, sent.text, metadata=metadata, mid=sent.mid)
        task = asyncio.create_task(self._deliver_quietly(echo))
        self._echoing.add(task)
        task.add_done_callback(self._echoing.discard)

    async def _deliver_quietly(self, echo: dict[str, Any]) -> None:
        """An echo is Meta's notice, not a person's message: a bot that is gone or busy
        misses it, as it would miss Meta's."""
        with contextlib.suppress(httpx.HTTPError):
            await self.deliver(delivery_json(self.shape.object, self.shape.account, echo))

    async def echoes_delivered(self) -> None:
        """Wait until every echo of what the bot sent so far was answered by its webhook."""
        while self._echoing:
            await asyncio.gather(*self._echoing, return_exceptions=True)

    async def stop(self) -> None:
        for task in list(self._echoing):
            task.cancel()
        await super().stop()

    def _refusal(self, payload: dict[str, Any]) -> str | None:
        """Why Meta would refuse this send (the limits batchbot must respect), if it would."""
        message = payload.get("message")
        if not payload.get("recipient", {}).get("id") or not isinstance(message, dict):
            return "recipient.id and message must be set"
        if "attachment" in message:
            kind = message["attachment"].get("type")
            return None if kind == "image" else f"the sandbox sends no {kind!r} attachments"
        text = str(message.get("text", ""))
        size = len(text.encode()) if self.shape.text_limit_bytes else len(text)
        if not text or size > self.shape.text_limit:
            unit = "bytes" if self.shape.text_limit_bytes else "characters"
            return f"message.text must be 1 to {self.shape.text_limit} {unit}"
        return None

    # -- control over HTTP (the demo) ----------------------------------------------------
    async def _control_message(self, request: web.Request) -> web.Response:
        body = await request.json()
        await self.person_says(str(body["id"]), str(body["text"]))
        return web.json_response({"ok": True})

    async def _control_sent(self, request: web.Request) -> web.Response:
        return web.json_response(
            [{"to": m.to, "text": m.text, "image": m.image} for m in self.sent]
        )


def instagram_shape(access_token: str = "IGAAsandbox-access-token") -> PlatformShape:
    return PlatformShape(
        "Instagram",
        "instagram",
        "instagram",
        SANDBOX_INSTAGRAM_ACCOUNT_ID,
        access_token,
        1000,
        True,
    )


def messenger_shape(access_token: str = "EAAGsandbox-page-token") -> PlatformShape:
    return PlatformShape(
        "Messenger", "messenger", "page", SANDBOX_PAGE_ID, access_token, 2000, False
    )
