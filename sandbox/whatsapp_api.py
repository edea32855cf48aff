"""A WhatsApp Cloud API on loopback that plays Meta for the demo and the tests.

Both directions, as Meta does them: the Graph endpoint the workers send to
(``POST /<version>/<phone number id>/messages`` with a bearer token: texts, images,
replies, and the read receipt with its typing indicator), and signed webhook
deliveries of what simulated people write, POSTed to the bot's ``/webhook/whatsapp``.
``POST /sandbox/messages`` and ``GET /sandbox/sent`` do the same over HTTP.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from sandbox.meta_stand_in import MetaStandIn
from sandbox.whatsapp_media import MediaSurface
from sandbox.whatsapp_wire import (
    SANDBOX_PHONE_NUMBER_ID,
    WaPerson,
    delivery_json,
    graph_error,
    next_wamid,
    text_json,
)

SANDBOX_ACCESS_TOKEN = "EAAGsandbox-access-token"
SANDBOX_APP_SECRET = "sandbox-app-secret"
SANDBOX_VERIFY_TOKEN = "sandbox-verify-token"
API_VERSION = "v26.0"
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024


@dataclass(frozen=True, slots=True)
class WaSent:
    """A message the bot sent through the Graph endpoint."""

    to: str
    text: str
    wamid: str
    at: float
    authorization: str
    image: str | None = None
    reply_to: str | None = None
    phone_number_id: str = SANDBOX_PHONE_NUMBER_ID


@dataclass(frozen=True, slots=True)
class WaTyping:
    """A read receipt for ``message_id``, with the typing indicator when ``typing``."""

    message_id: str
    typing: bool
    at: float


@dataclass(frozen=True, slots=True)
class WaForcedError:
    """What the next send answers instead of succeeding."""

    status: int
    code: int
    message: str


@dataclass
class WhatsAppStandIn(MetaStandIn, MediaSurface):
    access_token: str = SANDBOX_ACCESS_TOKEN
    app_secret: str = SANDBOX_APP_SECRET
    webhook_url: str = ""
    """The bot's ``.../webhook/whatsapp``; set once the bot's port is known."""
    sent: list[WaSent] = field(default_factory=list)
    typing: list[WaTyping] = field(default_factory=list)
    refused_calls: int = 0
    """Graph calls refused for a wrong or missing bearer token."""
    send_attempts: int = 0
    """Sends that reached the Graph endpoint with the right token, failed ones included."""
    on_event: Callable[[str], None] | None = None
    media: dict[str, bytes] = field(default_factory=dict)
    """Media people sent (voice notes), by media id."""

    def __post_init__(self) -> None:
        self._changed = asyncio.Condition()
        self._forced: list[WaForcedError | None] = []

    @property
    def api_url(self) -> str:
        """What WHATSAPP_API_URL is set to."""
        return f"{self.url}/{API_VERSION}"

    async def start(self, port: int = 0) -> str:
        app = web.Application()
        app.router.add_post("/{version}/{phone_number_id}/messages", self._graph_messages)
        app.router.add_post("/sandbox/messages", self._control_message)
        app.router.add_get("/sandbox/sent", self._control_sent)
        self.add_media_routes(app)
        return await self.serve(app, port)

    # -- the simulated people --------------------------------------------------------
    async def person_says(self, person: WaPerson, *texts: str) -> list[dict[str, Any]]:
        """Each text as its own signed delivery, one after the other, as Meta sends them;
        returns the messages. Fails unless the bot answers 200."""
        messages = [text_json(person, text) for text in texts]
        for message in messages:
            status = await self.deliver(delivery_json((person, message)))
            if status != 200:
                raise AssertionError(f"the bot answered {status} to a delivery")
        return messages

    def fail_next(self, error: WaForcedError, *, after_successes: int = 0) -> None:
        """Make a coming send fail, after ``after_successes`` go through."""
        self._forced.extend([None] * after_successes)
        self._forced.append(error)

    def messages_to(self, wa_id: str) -> list[str]:
        return [m.text for m in self.sent if m.to == wa_id]

    async def wait_for_messages(
        self, wa_id: str, count: int, timeout_seconds: float = 30.0
    ) -> list[str]:
        """Wait until the bot has sent ``count`` messages to the person; fails on timeout."""
        async with asyncio.timeout(timeout_seconds), self._changed:
            await self._changed.wait_for(lambda: len(self.messages_to(wa_id)) >= count)
        return self.messages_to(wa_id)

    # -- Graph API --------------------------------------------------------------------
    async def _graph_messages(self, request: web.Request) -> web.Response:
        authorization = request.headers.get("Authorization", "")
        if authorization != f"Bearer {self.access_token}":
            self.refused_calls += 1
            body = graph_error(190, "Invalid OAuth access token - Cannot parse access token")
            return web.json_response(body, status=401)
        payload = await request.json()
        if payload.get("status") == "read":
            return await self._read(payload)
        self.send_attempts += 1
        error = self._forced.pop(0) if self._forced else None
        if error is not None:
            return web.json_response(graph_error(error.code, error.message), status=error.status)
        refusal = _refusal(payload)
        if refusal is not None:
            return web.json_response(graph_error(131009, refusal), status=400)
        sent = WaSent(
            to=payload["to"],
            text=_text_of(payload),
            wamid=next_wamid(),
            at=time.monotonic(),
            authorization=authorization,
            image=_image_of(payload),
            reply_to=payload.get("context", {}).get("message_id"),
            phone_number_id=request.match_info["phone_number_id"],
        )
        async with self._changed:
            self.sent.append(sent)
            self._changed.notify_all()
        if self.on_event:
            self.on_event(f"WhatsApp → {sent.to}: {sent.text!r}")
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": sent.to, "wa_id": sent.to}],
                "messages": [{"id": sent.wamid}],
            }
        )

    async def _read(self, payload: dict[str, Any]) -> web.Response:
        typing = payload.get("typing_indicator", {}).get("type") == "text"
        async with self._changed:
            self.typing.append(WaTyping(payload["message_id"], typing, time.monotonic()))
            self._changed.notify_all()
        return web.json_response({"success": True})

    # -- control over HTTP (the demo) ----------------------------------------------------
    async def _control_message(self, request: web.Request) -> web.Response:
        body = await request.json()
        person = WaPerson(str(body["wa_id"]), str(body.get("name", "")))
        await self.person_says(person, str(body["text"]))
        return web.json_response({"ok": True})

    async def _control_sent(self, request: web.Request) -> web.Response:
        return web.json_response(
            [
                {"to": m.to, "text": m.text, "image": m.image, "reply_to": m.reply_to}
                for m in self.sent
            ]
        )


def _refusal(payload: dict[str, Any]) -> str | None:
    """Why Meta would refuse this send (the limits batchbot must respect), if it would."""
    if payload.get("messaging_product") != "whatsapp" or not payload.get("to"):
        return "messaging_product must be whatsapp and to must be set"
    kind = payload.get("type")
    if kind == "text":
        if len(payload["text"]["body"]) > TEXT_LIMIT:
            return f"text.body is longer than {TEXT_LIMIT} characters"
        return None
    if kind == "image":
        if len(payload["image"].get("caption", "")) > CAPTION_LIMIT:
            return f"image.caption is longer than {CAPTION_LIMIT} characters"
        return None
    return f"the sandbox does not send messages of type {kind!r}"


def _text_of(payload: dict[str, Any]) -> str:
    if payload["type"] == "text":
        return str(payload["text"]["body"])
    return str(payload["image"].get("caption", ""))


def _image_of(payload: dict[str, Any]) -> str | None:
    if payload["type"] != "image":
        return None
    image = payload["image"]
    return str(image.get("link") or image.get("id"))
