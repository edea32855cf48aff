"""``POST /proactive``: the backend sends a person messages without being asked.

Served on the bot's metrics port (never the public webhook), only when PROACTIVE_TOKEN
is set, and only to requests carrying it as a bearer token (compared in constant
time). The body is a :class:`shared.proactive.ProactiveRequest`; the answer is 202 once
the messages are queued, 400 with the problems when the body is wrong.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from pydantic import ValidationError

from shared.outbox import Outbox
from shared.proactive import ProactiveRequest, queue

log = logging.getLogger("batchbot.bot")


Handler = Callable[[web.Request], Awaitable[web.Response]]


def proactive_handler(outbox: Outbox, token: str) -> Handler:
    expected = f"Bearer {token}"

    async def handle(request: web.Request) -> web.Response:
        if not hmac.compare_digest(request.headers.get("Authorization", ""), expected):
            return web.json_response({"error": "missing or wrong bearer token"}, status=401)
        try:
            body = ProactiveRequest.model_validate_json(await request.read())
            conversation = body.conversation()
        except ValidationError as error:
            problems = error.errors(include_url=False, include_context=False)
            return web.json_response({"error": "invalid request", "problems": problems}, status=400)
        except ValueError as error:
            return web.json_response({"error": str(error)}, status=400)
        scheduling = await queue(outbox, body)
        log.info(
            "proactive: %d message(s) queued for %s (%s)",
            len(body.messages),
            conversation,
            scheduling,
            extra={"conversation": conversation},
        )
        return web.json_response(
            {"queued": len(body.messages), "scheduling": scheduling}, status=202
        )

    return handle
