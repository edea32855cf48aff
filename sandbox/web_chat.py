"""The browser demo's HTTP side: a messenger-like page where you play one or more people
writing to the bot, each on a channel of their choice, and the API it calls. Messages go
through that channel's stand-in (:mod:`sandbox.web_people`), exactly as the terminal
demo's do; the page learns what happened from :class:`sandbox.web_timeline.Timeline` as
a stream of Server-Sent Events."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from batchctl.console import packaged_file
from sandbox.example_backend import ExampleBackend, summarise
from sandbox.telegram_api import Person
from sandbox.web_people import CHANNELS, People, Simulated, StandIns, owner_writes
from sandbox.web_timeline import Timeline
from shared.handoff import Handoffs
from shared.models import BatchRequest, BatchResponse, OutgoingMessage
from shared.proactive import DEFAULT_KEY_TTL_SECONDS as DEMO_KEY_TTL_SECONDS

SAMPLES = ("sample-sunset", "sample-haircut", "sample-cat")
"""Photos a person can send (``sandbox/static/<name>.svg``); the file id is the name."""

BACKEND_MODES = {
    "normal": "answers at once",
    "slow": "takes 6 s to answer",
    "fail": "answers 500 (retries, then a dead letter)",
    "parts": "answers in two parts, paced like typing",
    "stream": "streams its answer word by word (drafts)",
    "reason": "reasons aloud, then streams its answer (a thinking block in the draft)",
}
REASONING = (
    "The person wants to know more. A short, friendly answer in a few sentences will do; "
    "mention what the shop offers and ask what they would like."
)
SLOW_SECONDS = 6.0
SECOND_PART = "Tomorrow at 5pm is free. Shall I book it?"
STREAM_SECONDS_PER_WORD = 0.12


async def answer_in_parts(request: BatchRequest) -> BatchResponse:
    """The example answer, then a second message: to watch the pause before it, as if typed
    (REPLY_PACING_SECONDS_PER_CHARACTER)."""
    answer = summarise(request)
    answer.messages.append(OutgoingMessage(text=SECOND_PART))
    return answer


async def answer_at_length(request: BatchRequest) -> BatchResponse:
    """A long answer, for the streamed mode: long enough to watch the draft grow."""
    heard = " / ".join(request.text.splitlines()) or "your photos"
    text = (
        f"Thanks, {request.user.first_name}! You said: {heard}. Here is a longer answer, "
        "written a word at a time as a model would, so you can watch it appear as a "
        "draft before it arrives as one message."
    )
    return BatchResponse(messages=[OutgoingMessage(text=text)])


@dataclass
class ChatPage:
    stand_ins: StandIns
    backend: ExampleBackend
    timeline: Timeline
    console_url: str = ""
    window_seconds: float = 2.0

    def __post_init__(self) -> None:
        self.people = People(self.stand_ins)
        self.handoffs = Handoffs(self.timeline.redis, DEMO_KEY_TTL_SECONDS)
        self.mode = "normal"
        for name in ("Ana", "Ben"):
            self.add_person(name)

    def add_person(self, name: str, channel: str = "telegram") -> Simulated:
        person = self.people.add(name, channel)
        self.timeline.watch(person.id, person.conversation, person.address)
        return person

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/", self._page)
        app.router.add_get("/static/{name}", self._static)
        app.router.add_get("/api/config", self._config)
        app.router.add_post("/api/people", self._add_person)
        app.router.add_post("/api/people/{id}/messages", self._send)
        app.router.add_post("/api/people/{id}/voice", self._voice)
        app.router.add_post("/api/people/{id}/edit", self._edit)
        app.router.add_post("/api/people/{id}/owner", self._owner_writes)
        app.router.add_post("/api/people/{id}/resume", self._resume)
        app.router.add_post("/api/people/{id}/stop", self._stop)
        app.router.add_post("/api/backend", self._set_mode)
        app.router.add_get("/api/events", self._events)
        return app

    def set_mode(self, mode: str) -> None:
        backend = self.backend
        backend.delay_seconds = SLOW_SECONDS if mode == "slow" else 0.0
        backend.failure_status = 500 if mode == "fail" else None
        answerers = {"parts": answer_in_parts, "stream": answer_at_length}
        backend.answerer = answerers.get(mode, answer_at_length if mode == "reason" else None)
        backend.stream = mode in ("stream", "reason")
        backend.seconds_per_piece = STREAM_SECONDS_PER_WORD
        backend.reasoning = REASONING if mode == "reason" else ""
        self.mode = mode

    async def _page(self, request: web.Request) -> web.Response:
        return packaged_file("sandbox", "chat.html")

    async def _static(self, request: web.Request) -> web.Response:
        return packaged_file("sandbox", request.match_info["name"])

    async def _config(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "people": [p.shown() for p in self.people.by_id.values()],
                "channels": CHANNELS,
                "console_url": self.console_url,
                "window_seconds": self.window_seconds,
                "samples": SAMPLES,
                "backend_modes": BACKEND_MODES,
                "backend_mode": self.mode,
            }
        )

    async def _add_person(self, request: web.Request) -> web.Response:
        body = await _json_object(request)
        name = str(body.get("name", "")).strip()[:32]
        channel = str(body.get("channel", "telegram"))
        if not name:
            return _problem("a person needs a name")
        if channel not in CHANNELS:
            return _problem(f"channel must be one of {', '.join(CHANNELS)} (got {channel!r})")
        return web.json_response(self.add_person(name, channel).shown())

    def _person(self, request: web.Request) -> Simulated:
        person_id = request.match_info["id"]
        if not person_id.isdigit():
            raise _bad_request(f"a person's id is a number (got {person_id!r})")
        person = self.people.by_id.get(int(person_id))
        if person is None:
            raise web.HTTPNotFound(
                text=json.dumps({"error": "no such person: add them first"}),
                content_type="application/json",
            )
        return person

    async def _send(self, request: web.Request) -> web.Response:
        """A text, a photo, or an album (its items one by one, as Telegram delivers them)."""
        person, body = self._person(request), await _json_object(request)
        photos = body.get("photos", [])
        if not isinstance(photos, list) or not all(p in SAMPLES for p in photos):
            return _problem(f"photos must be a list of the samples: {', '.join(SAMPLES)}")
        text = str(body.get("text", "")).strip()
        if not photos and not text:
            return _problem("type a message or pick a photo")
        written = await self.people.say(person, text or None, photos)
        for one in written:
            shown = {"message_id": one.message_id, "text": one.text, "photo": one.photo}
            self.timeline.add(person.id, "sent", **shown)
        return web.json_response({"message_id": written[-1].message_id})

    async def _voice(self, request: web.Request) -> web.Response:
        """The sandbox's voice note, as the person's next message."""
        person = self._person(request)
        try:
            message_id = await self.people.speak(person)
        except ValueError as why:
            return _problem(str(why))
        self.timeline.add(person.id, "sent", message_id=message_id, voice=4)
        self.timeline.notes.expect(person.id, person.conversation, str(message_id))
        return web.json_response({"message_id": message_id})

    async def _edit(self, request: web.Request) -> web.Response:
        person, body = self._person(request), await _json_object(request)
        message_id = body.get("message_id")
        if isinstance(message_id, bool) or not isinstance(message_id, int):
            return _problem(f"message_id must be the number of a sent message (got {message_id!r})")
        update = self.people.telegram_updates.get((person.id, message_id))
        text = str(body.get("text", "")).strip()
        if person.channel != "telegram":
            return _problem(f"{person.channel} has no edits for a business: only Telegram's")
        if update is None or "text" not in update["message"] or not text:
            return _problem("only a text message of this person can be edited, to some text")
        telegram = self.stand_ins.telegram
        await telegram.deliver(telegram.edit(update, text))
        message_id = update["message"]["message_id"]
        self.timeline.add(person.id, "edited", message_id=message_id, text=text)
        return web.json_response({"message_id": message_id})

    async def _owner_writes(self, request: web.Request) -> web.Response:
        """The business writes the person itself: a human takes the conversation over."""
        person, body = self._person(request), await _json_object(request)
        text = str(body.get("text", "")).strip()
        if not text:
            return _problem("type what the owner writes")
        await owner_writes(self.people, self.handoffs, person, text)
        self.timeline.add(person.id, "owner", text=text)
        return web.json_response({"conversation": person.conversation})

    async def _resume(self, request: web.Request) -> web.Response:
        person = self._person(request)
        resumed = await self.handoffs.resume(person.conversation)
        return web.json_response({"conversation": person.conversation, "resumed": resumed})

    async def _stop(self, request: web.Request) -> web.Response:
        """The person presses Stop under the draft ``draft_id`` (Telegram's button)."""
        person = self._person(request)
        draft_id = (await _json_object(request)).get("draft_id")
        if person.channel != "telegram" or not isinstance(draft_id, int):
            return _problem("Stop is a Telegram draft's button: a Telegram person and draft_id")
        await self.stand_ins.telegram.press_stop(Person(int(person.address), person.name), draft_id)
        self.timeline.add(person.id, "stop-pressed", draft_id=draft_id)
        return web.json_response({"stopped": draft_id})

    async def _set_mode(self, request: web.Request) -> web.Response:
        mode = str((await _json_object(request)).get("mode"))
        if mode not in BACKEND_MODES:
            return _problem(f"backend mode must be one of {', '.join(BACKEND_MODES)}")
        self.set_mode(mode)
        self.timeline.add(0, "backend-mode", mode=mode, about=BACKEND_MODES[mode])
        return web.json_response({"mode": mode})

    async def _events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        await response.write(f"event: hello\ndata: {int(time.time() * 1000)}\n\n".encode())
        async for event in self.timeline.stream():
            await response.write(f"data: {json.dumps(event)}\n\n".encode())
        return response


def _problem(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


def _bad_request(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": message}), content_type="application/json")


async def _json_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object, or a 400 saying what it should have been."""
    raw = await request.read()
    try:
        body = json.loads(raw) if raw.strip() else None
    except ValueError:
        raise _bad_request(
            'the body is not JSON: send a JSON object, e.g. {"text": "hi"}'
        ) from None
    if not isinstance(body, dict):
        raise _bad_request('the body must be a JSON object, e.g. {"text": "hi"}')
    return body
