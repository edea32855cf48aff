"""``POST /handoff``: a person of the business takes a conversation over, or hands it back.

Served beside ``/proactive`` on the bot's metrics port, with the same PROACTIVE_TOKEN.
The answer says what was taken over: 200 ``{"conversation", "paused_until", "held",
"batch"}`` (``batch``: what became of a batch at the backend), or on resume
``{"conversation", "resumed"}``; 400 with the problems; 409 while takeover is off
(HANDOFF_SECONDS=0).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from pydantic import ValidationError
from redis.exceptions import RedisError

from bot.ops_requests import invalid_body, not_stored, refused
from bot.proactive import Handler
from channels.adapter import NoRecipient
from config.tenancy import Routes
from shared.handoff import Handoffs, takeover_is_off
from shared.handoff_request import HandoffRequest

EXAMPLE = '{"channel": "telegram", "chat_id": 123, "seconds": 1800}'


def handoff_handler(
    handoffs: Handoffs, token: str, routes: Callable[[], Routes[Any]], handoff_seconds: float
) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        if (refusal := refused(request, token)) is not None:
            return refusal
        raw = await request.read()
        try:
            body = HandoffRequest.model_validate_json(raw)
            conversation = body.conversation or routes().conversation_for(body)
        except ValidationError as error:
            return invalid_body(error, raw, EXAMPLE)
        except NoRecipient as error:
            return web.json_response({"error": str(error)}, status=400)
        route = routes().route(conversation)  # the tenant's own HANDOFF_SECONDS
        seconds = route.tenant.settings.handoff_seconds if route is not None else handoff_seconds
        try:
            return await _hand(handoffs, body, conversation, seconds)
        except (RedisError, OSError) as error:
            return not_stored(error)

    return handle


async def _hand(
    handoffs: Handoffs, body: HandoffRequest, conversation: str, handoff_seconds: float
) -> web.Response:
    """The takeover or hand-back itself, once the body is known to be right."""
    if not body.resume and not await handoffs.known(conversation):
        field = "conversation" if body.conversation else _address_field(body)
        said = (
            f"{field}: no conversation {conversation} is known here (nobody wrote in it "
            "lately); check the id: batchctl inspect lists the conversations"
        )
        return web.json_response({"error": said}, status=400)
    if body.resume:
        resumed = await handoffs.resume(conversation)
        return web.json_response({"conversation": conversation, "resumed": resumed})
    if takeover_is_off(handoff_seconds):
        said = "takeover is off here (HANDOFF_SECONDS=0); set it above 0 to use /handoff"
        return web.json_response({"error": said}, status=409)
    taken = await handoffs.take_over(conversation, "api", body.seconds or handoff_seconds)
    until = datetime.fromtimestamp(taken.until_ms / 1000, UTC).isoformat()
    return web.json_response(
        {
            "conversation": conversation,
            "paused_until": until,
            "held": taken.held,
            "batch": taken.claimed,
        }
    )


def _address_field(body: HandoffRequest) -> str:
    """The field that named the person, for an error that points at it."""
    for name, field in (("wa_id", body.wa_id), ("recipient_id", body.recipient_id)):
        if field is not None:
            return name
    return "chat"
