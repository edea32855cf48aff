"""The local demo: the real bot and two real workers against the sandbox.

A simulated person (or you, with ``--interactive``) sends a burst; the terminal shows
each message arriving, the batch's deadline moving, the one backend call and the one
reply, then a second batch after a pause, then an album answered in two paced parts,
then an answer streamed by the backend and shown as a growing draft, then a voice note
heard while Ana is still typing, then a changed mind while the backend thinks (one answer
to both), then a burst on WhatsApp, a shop that answers from the WhatsApp Business app (a
human takeover), and a burst on Instagram, all through the same bot and workers.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from redis.asyncio import Redis

from sandbox import demo_takeover
from sandbox.example_backend import ExampleBackend, summarise
from sandbox.launcher import LaunchFailed
from sandbox.openai_api import OpenAIStandIn
from sandbox.peek import pending_count
from sandbox.send_api import SendApiStandIn
from sandbox.stack import SandboxFailed, sandbox_running
from sandbox.telegram_api import Person, TelegramStandIn
from sandbox.transcription_api import VOICE_NOTE
from sandbox.web_demo import WINDOW_SECONDS as WEB_WINDOW_SECONDS
from sandbox.web_demo import run_web
from sandbox.whatsapp_api import WhatsAppStandIn
from sandbox.whatsapp_wire import WaPerson
from shared.keys import PENDING_INDEX, ConversationKeys
from shared.models import BatchRequest, BatchResponse, MessageKind, OutgoingMessage

ANA = Person(id=1001, first_name="Ana", username="ana", language_code="en")
BEA = WaPerson(wa_id="14155550199", name="Bea")
BURST = ["hi", "can I book", "a haircut", "tomorrow?"]
WHATSAPP_BURST = ["hola", "do you do beards too?", "saturday morning?"]
IVY = "6100000000000001"  # an Instagram-scoped id
INSTAGRAM_BURST = ["hey!", "saw your reel", "how much for a fade?"]
WINDOW_SECONDS = 2.0
MAX_WAIT_SECONDS = 20.0
INTERACTIVE_LAST_ANSWER_SECONDS = MAX_WAIT_SECONDS + 30
STARTED = time.monotonic()


async def answer_with_a_second_part_about_photos(request: BatchRequest) -> BatchResponse:
    """The example answer, plus a second message when the burst had photos."""
    answer = summarise(request)
    photos = sum(1 for message in request.messages if message.kind is MessageKind.PHOTO)
    if photos:
        remark = f"About your {photos} photos: the second one, without a doubt."
        answer.messages.append(OutgoingMessage(text=remark))
    return answer


def say(text: str) -> None:
    print(f"[{time.monotonic() - STARTED:6.2f}s] {text}", flush=True)


async def _show_pending(redis: Redis, expected: int) -> None:
    """Read the person's batch as RedisInsight would show it, once the bot stored it."""
    keys = ConversationKeys(str(ANA.id))
    async with asyncio.timeout(5):
        while await pending_count(redis, keys.conversation) < expected:  # noqa: ASYNC110 - Redis has no event
            await asyncio.sleep(0.02)
    deadline: bytes | None = await redis.hget(keys.info, "deadline")  # type: ignore[misc]
    now_ms = time.time() * 1000
    due_in = (int(deadline) - now_ms) / 1000 if deadline else 0.0
    say(f"  Redis: {keys.batch} holds {expected} message(s); batch due in {due_in:.2f}s")


async def _scripted(telegram: TelegramStandIn, redis: Redis) -> None:
    say(f"Ana types a burst of {len(BURST)} messages, a moment apart:")
    for count, text in enumerate(BURST, start=1):
        await telegram.person_says(ANA, text)
        say(f"Ana → {text!r}")
        await _show_pending(redis, count)
        await asyncio.sleep(0.5)
    await telegram.wait_for_messages(ANA.id, 1)
    say("Ana pauses for a few seconds, then adds one more message:")
    await asyncio.sleep(3)
    await telegram.person_says(ANA, "actually, make it 5pm")
    say("Ana → 'actually, make it 5pm'")
    await telegram.wait_for_messages(ANA.id, 2)
    say("Ana sends an album of three photos with a question (its items arrive one by one):")
    for n in (1, 2, 3):
        caption = "which colour suits me?" if n == 3 else None
        await telegram.person_says(ANA, photo=f"photo-{n}", caption=caption, media_group_id="album")
        say(f"Ana → [photo {n}]" + (f" {caption!r}" if caption else ""))
        await asyncio.sleep(0.3)
    await telegram.wait_for_messages(ANA.id, 4)
    say("Three bursts, three backend calls; the album came as one batch, its answer in two")
    say("parts with 'typing…' between them.")


async def _scripted_stream(telegram: TelegramStandIn, backend: ExampleBackend) -> None:
    answerer = backend.answerer
    backend.stream, backend.seconds_per_piece, backend.answerer = True, 0.12, _advice
    try:
        say("Ana asks for advice; this time the backend streams its answer (Server-Sent")
        say("Events), and Telegram shows it growing as a draft, at most two updates a second:")
        await telegram.person_says(ANA, "any tips for keeping the cut neat?")
        await telegram.wait_for_messages(ANA.id, 5)
        say("The draft was a preview; the final answer came once, as a message.")
    finally:  # the next scene has its own story: the backend answers as before
        backend.stream, backend.answerer = False, answerer


async def _advice(request: BatchRequest) -> BatchResponse:
    text = (
        f"Sure, {request.user.first_name}! Wash it every other day, use a light conditioner, "
        "and book a trim every four to six weeks so the shape holds. A little wax in the "
        "morning keeps it tidy until the evening."
    )
    return BatchResponse(messages=[OutgoingMessage(text=text)])


async def _scripted_voice(telegram: TelegramStandIn, backend: ExampleBackend) -> None:
    say("Ana sends a voice note (a real OGG/Opus file), then two texts; a worker fetches the")
    say("note from Telegram and has it transcribed while she is still typing:")
    await telegram.person_speaks(ANA, VOICE_NOTE.read_bytes(), duration=4)
    say("Ana → [voice note, 4 s]")
    for text in ("or the day after", "whichever is free"):
        await asyncio.sleep(0.5)
        await telegram.person_says(ANA, text)
        say(f"Ana → {text!r}")
    await telegram.wait_for_messages(ANA.id, 6)
    [voice] = [m for m in backend.calls[-1].request.messages if m.kind is MessageKind.VOICE]
    say(f"The batch went with the note's words, heard before it was due: {voice.transcript!r}")


async def _scripted_whatsapp(whatsapp: WhatsAppStandIn) -> None:
    say(f"Bea writes on WhatsApp: {len(WHATSAPP_BURST)} messages, each a signed webhook delivery:")
    for text in WHATSAPP_BURST:
        await whatsapp.person_says(BEA, text)
        say(f"Bea → {text!r} (the bot answered Meta 200 once it was stored)")
        await asyncio.sleep(0.5)
    await whatsapp.wait_for_messages(BEA.wa_id, 1)
    say("One WhatsApp burst, one backend call (channel: whatsapp), one answer through the")
    say("Graph API from the number Bea wrote to.")


async def _scripted_instagram(instagram: SendApiStandIn) -> None:
    say(f"Ivy writes on Instagram: {len(INSTAGRAM_BURST)} messages, each a signed delivery:")
    for text in INSTAGRAM_BURST:
        await instagram.person_says(IVY, text)
        say(f"Ivy → {text!r} (the bot answered Meta 200 once it was stored)")
        await asyncio.sleep(0.5)
    await instagram.wait_for_messages(IVY, 1)
    say("One Instagram burst, one backend call (channel: instagram), one answer through the")
    say("Send API from the account Ivy wrote to. Done.")


async def _interactive(telegram: TelegramStandIn, redis: Redis) -> None:
    say("Type messages as Ana (Enter sends, Ctrl-D ends). Pause to let the batch go.")
    loop = asyncio.get_running_loop()
    replies_before_last_message: int | None = None
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        if line.strip():
            replies_before_last_message = len(telegram.messages_to(ANA.id))
            await telegram.person_says(ANA, line.rstrip("\n"))
    waiting = replies_before_last_message is not None and (
        len(telegram.messages_to(ANA.id)) <= replies_before_last_message
    )
    if replies_before_last_message is not None and waiting:
        say("Ctrl-D: your last burst is still waiting; its answer comes before the demo ends")
        async with asyncio.timeout(INTERACTIVE_LAST_ANSWER_SECONDS):
            await telegram.wait_for_messages(
                ANA.id, replies_before_last_message + 1, INTERACTIVE_LAST_ANSWER_SECONDS
            )
            while await redis.zscore(PENDING_INDEX, str(ANA.id)) is not None:  # noqa: ASYNC110 - Redis has no event
                await asyncio.sleep(0.05)  # every part of it sent
    say("Done.")


async def _scripted_openai(telegram: TelegramStandIn) -> None:
    say("BACKEND_PROTOCOL=openai: the workers ask an OpenAI-compatible model directly,")
    say("with a system prompt and HISTORY_TURNS=6; the stand-in model says what it was given.")
    for text in ("hi", "can I book a haircut?"):
        await telegram.person_says(ANA, text)
        say(f"Ana → {text!r}")
        await asyncio.sleep(0.5)
    await telegram.wait_for_messages(ANA.id, 1)
    await asyncio.sleep(1)
    await telegram.person_says(ANA, "friday at 5pm")
    say("Ana → 'friday at 5pm' (the model now gets the first exchange as history)")
    await telegram.wait_for_messages(ANA.id, 2)
    say("Two batches, two model calls, the second with two earlier turns. Done.")


def _openai_settings(model: OpenAIStandIn) -> dict[str, object]:
    return {
        "backend_protocol": "openai",
        "backend_url": model.url,
        "backend_model": "sandbox-model",
        "backend_system_prompt": "You are the assistant of a barber shop.",
        "history_turns": 6,
    }


async def run(interactive: bool, openai: bool = False) -> None:
    async with sandbox_running(
        say,
        answer_with_a_second_part_about_photos,
        model_settings=_openai_settings if openai else None,
        batch_window_seconds=WINDOW_SECONDS,
        batch_max_wait_seconds=MAX_WAIT_SECONDS,
    ) as sandbox:
        say(f"bot and two workers are up; batch window {WINDOW_SECONDS:g}s")
        redis = Redis.from_url(sandbox.redis_url)
        try:
            if interactive:
                await _interactive(sandbox.telegram, redis)
            elif openai:
                await _scripted_openai(sandbox.telegram)
            else:
                await _scripted(sandbox.telegram, redis)
                await _scripted_stream(sandbox.telegram, sandbox.backend)
                await _scripted_voice(sandbox.telegram, sandbox.backend)
                await demo_takeover.supersede(sandbox.telegram, sandbox.backend, ANA, say)
                await _scripted_whatsapp(sandbox.whatsapp)
                await demo_takeover.takeover(sandbox.whatsapp, redis, sandbox.backend, say)
                await _scripted_instagram(sandbox.instagram)
        finally:
            await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description="batchbot's local demo, no Telegram token needed")
    parser.add_argument("--interactive", action="store_true", help="type the messages yourself")
    parser.add_argument(
        "--openai", action="store_true", help="the workers ask an OpenAI-compatible stand-in"
    )
    parser.add_argument(
        "--web", action="store_true", help="chat with the bot in a browser page instead"
    )
    parser.add_argument("--port", type=int, default=8088, help="the chat page's port (--web)")
    parser.add_argument(
        "--console-port", type=int, default=8090, help="the operations console's port (--web)"
    )
    parser.add_argument(
        "--window",
        type=float,
        default=WEB_WINDOW_SECONDS,
        help=f"the batch window in seconds (--web; default {WEB_WINDOW_SECONDS:g})",
    )
    args = parser.parse_args()
    if not 0 < args.window <= 60:
        parser.error(f"--window must be over 0 and at most 60 seconds (got {args.window:g})")
    if args.web and (args.openai or args.interactive):
        parser.error(
            "--web has its own controls: you type on the page, and the page's 'Example "
            "backend' control chooses how the backend answers; leave out "
            + " and ".join(
                o
                for o, on in (("--openai", args.openai), ("--interactive", args.interactive))
                if on
            )
        )
    try:
        if args.web:
            asyncio.run(run_web(args.port, args.console_port, say, args.window))
        else:
            asyncio.run(run(args.interactive, args.openai))
    except (SandboxFailed, LaunchFailed) as error:
        print(f"demo: {error}", file=sys.stderr)  # a process's log tail, not a traceback
        sys.exit(1)
