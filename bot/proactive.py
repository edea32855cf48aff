"""``POST /proactive``: the backend sends a person messages without being asked.

Served on the bot's metrics port (never the public webhook), only when PROACTIVE_TOKEN
is set, and only to requests carrying it as a bearer token (compared in constant
time). The body is a :class:`shared.proactive.ProactiveRequest`; the answer is 202 once
the messages are queued, 400 with the problems when the body is wrong. While a human has
the conversation the messages are held, not refused (a reminder stays true after the
human is done, and a backend need not retry): the answer says ``"scheduling": "held"``
and ``held_until``, the pause's end as it stands.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from pydantic import ValidationError
from redis.exceptions import RedisError

from bot.ops_requests import invalid_body, not_stored, refused
from channels.adapter import NoRecipient
from config.tenancy import Routes
from shared.outbox import Outbox
from shared.proactive import ProactiveRequest

log = logging.getLogger("batchbot.bot")


Handler = Callable[[web.Request], Awaitable[web.Response]]


def proactive_handler(outbox: Outbox, token: str, routes: Callable[[], Routes[Any]]) -> Handler:
    """Each configured channel reads the request's recipient (``channels.registry``); a
    message for a channel this bot does not serve is refused (400)."""

    async def handle(request: web.Request) -> web.Response:
        if (refusal := refused(request, token)) is not None:
            return refusal
        raw = await request.read()
        try:
            body = ProactiveRequest.model_validate_json(raw)
            conversation = routes().conversation_for(body)
        except ValidationError as error:
            return invalid_body(error, raw, '{"chat_id": 123, "messages": [...]}')
        except NoRecipient as error:
            return web.json_response({"error": str(error)}, status=400)
        try:
            queued = await outbox.queue(conversation, body.messages)
        except (RedisError, OSError) as error:
            return not_stored(error)
        answer: dict[str, object] = {
            "queued": len(body.messages),
            "scheduling": str(queued.scheduling),
        }
        if queued.paused_until_ms is not None:
            until = datetime.fromtimestamp(queued.paused_until_ms / 1000, UTC)
            answer["held_until"] = until.isoformat(timespec="seconds").replace("+00:00", "Z")
            answer["why"] = (
                "a human has this conversation: the messages are sent when the pause ends "
                '(later if they write again; POST /handoff with "resume": true ends it now)'
            )
        log.info(
            "proactive: %d message(s) queued for %s (%s%s)",
            len(body.messages),
            conversation,
            queued.scheduling,
            f" until {answer['held_until']}" if "held_until" in answer else "",
            extra={"conversation": conversation},
        )
        return web.json_response(answer, status=202)

    return handle
