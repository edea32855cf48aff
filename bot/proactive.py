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

from channels.entry import NoRecipient
from channels.registry import ChannelSettings, proactive_conversation
from shared.outbox import Outbox
from shared.proactive import ProactiveRequest

log = logging.getLogger("batchbot.bot")


Handler = Callable[[web.Request], Awaitable[web.Response]]


def proactive_handler(outbox: Outbox, token: str, settings: ChannelSettings) -> Handler:
    """Each configured channel reads the request's recipient (``channels.registry``); a
    message for a channel this bot does not serve is refused (400)."""
    expected = f"Bearer {token}"

    async def handle(request: web.Request) -> web.Response:
        if not hmac.compare_digest(request.headers.get("Authorization", ""), expected):
            return web.json_response({"error": "missing or wrong bearer token"}, status=401)
        raw = await request.read()
        try:
            body = ProactiveRequest.model_validate_json(raw)
            conversation = proactive_conversation(settings, body)
        except ValidationError as error:
            return web.json_response(_invalid(error, raw), status=400)
        except NoRecipient as error:
            return web.json_response({"error": str(error)}, status=400)
        scheduling = await outbox.queue(conversation, body.messages)
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


def _invalid(error: ValidationError, raw: bytes) -> dict[str, object]:
    """What was wrong with a body, as JSON (a body that is not JSON says so)."""
    if not raw.strip():
        return {"error": 'the body is empty; send JSON like {"chat_id": 123, "messages": [...]}'}
    problems = error.errors(include_url=False, include_context=False, include_input=False)
    if problems and problems[0]["type"] == "json_invalid":
        return {"error": f"the body is not JSON ({problems[0]['msg']}); send application/json"}
    return {"error": "invalid request", "problems": problems}
