"""The Bot API stand-in's control API, for people and programs outside its process: a
simulated person writes (``POST /sandbox/messages``), and what the bot sent
(``GET /sandbox/sent``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from sandbox.telegram_wire import Person

if TYPE_CHECKING:
    from sandbox.telegram_api import TelegramStandIn


def add_control_routes(app: web.Application, telegram: TelegramStandIn) -> None:
    async def message(request: web.Request) -> web.Response:
        body = await request.json()
        person = Person(id=int(body["user_id"]), first_name=str(body.get("first_name", "Ana")))
        update = await telegram.person_says(person, body.get("text"), photo=body.get("photo"))
        return web.json_response(update)

    async def sent(request: web.Request) -> web.Response:
        chat = request.query.get("chat_id")
        found = [m for m in telegram.sent if chat is None or m.chat_id == int(chat)]
        rows = [{"chat_id": m.chat_id, "message_id": m.message_id, "text": m.text} for m in found]
        return web.json_response(rows)

    app.router.add_post("/sandbox/messages", message)
    app.router.add_get("/sandbox/sent", sent)
