"""The demo's scenes of a human and a changed mind: the person adds more while the
backend thinks (supersede: one answer to both), and the shop answers from the WhatsApp
Business app (a takeover: the assistant stays silent, then hands the chat back)."""

from __future__ import annotations

from collections.abc import Callable

from redis.asyncio import Redis

from channels.whatsapp.conversations import conversation_id
from sandbox.example_backend import ExampleBackend
from sandbox.telegram_api import Person, TelegramStandIn
from sandbox.whatsapp_api import WhatsAppStandIn
from sandbox.whatsapp_wire import SANDBOX_PHONE_NUMBER_ID, WaPerson, business_app_echo
from shared.handoff import Handoffs
from shared.keys import ConversationKeys
from shared.proactive import DEFAULT_KEY_TTL_SECONDS

CAL = WaPerson(wa_id="14155550177", name="Cal")
SLOW_BACKEND_SECONDS = 3.0


async def supersede(
    telegram: TelegramStandIn, backend: ExampleBackend, ana: Person, say: Callable[[str], None]
) -> None:
    replies = len(telegram.messages_to(ana.id))
    backend.delay_seconds = SLOW_BACKEND_SECONDS
    try:
        say(f"The backend now takes {SLOW_BACKEND_SECONDS:g}s. Ana asks, and changes her mind")
        say("while it thinks:")
        await telegram.person_says(ana, "book me for friday at 5")
        say("Ana → 'book me for friday at 5'")
        await backend.wait_for_received(len(backend.received) + 1)
        await telegram.person_says(ana, "no wait, 6 is better")
        say("Ana → 'no wait, 6 is better' (before any answer: the batch at the backend is")
        say("abandoned, and both messages go again as one burst)")
        await telegram.wait_for_messages(ana.id, replies + 1, timeout_seconds=30)
        say("One answer to both messages; the abandoned call's answer was never sent.")
    finally:
        backend.delay_seconds = 0.0


async def takeover(
    whatsapp: WhatsAppStandIn, redis: Redis, backend: ExampleBackend, say: Callable[[str], None]
) -> None:
    conversation = conversation_id(SANDBOX_PHONE_NUMBER_ID, CAL.wa_id)
    asked = len(backend.received)
    say("Cal writes on WhatsApp; Sam at the shop answers him from the WhatsApp Business app")
    say("on the same number (its message reaches the bot as an smb_message_echoes delivery):")
    await whatsapp.person_says(CAL, "is the 10am slot still free?")
    say("Cal → 'is the 10am slot still free?'")
    await whatsapp.deliver(business_app_echo(CAL, "Cal, it's Sam: 10am is yours!"))
    say("Sam (Business app) → 'Cal, it's Sam: 10am is yours!': the conversation is Sam's now")
    await whatsapp.person_says(CAL, "great, thanks Sam")
    say("Cal → 'great, thanks Sam' (kept for Sam: no batch, nothing to the backend)")
    held = await redis.llen(ConversationKeys(conversation).held)  # type: ignore[misc]
    say(f"held:{conversation} has {held} entries; the backend got {len(backend.received) - asked}")
    await Handoffs(redis, DEFAULT_KEY_TTL_SECONDS).resume(conversation)
    say("Sam hands the chat back (batchctl handoff --resume); Cal asks one more thing:")
    await whatsapp.person_says(CAL, "do you take cards?")
    say("Cal → 'do you take cards?'")
    await whatsapp.wait_for_messages(CAL.wa_id, 1)
    say("Answered as a new burst of one message; what Sam dealt with was not answered again.")
