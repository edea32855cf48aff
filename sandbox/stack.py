"""The whole local sandbox, started and stopped as one: a throwaway redis-server (unless
REDIS_URL is set), the Bot API, WhatsApp, Instagram, Messenger and OpenAI-compatible
stand-ins, the example
backend, and the real bot with two real workers pointed at them. The terminal demo and
the browser demo both run on it."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from sandbox.environment import product_environment
from sandbox.example_backend import Answerer, ExampleBackend
from sandbox.launcher import ChildProcess, launch_together
from sandbox.openai_api import OpenAIStandIn
from sandbox.redis_server import RedisServer
from sandbox.send_api import SendApiStandIn, instagram_shape, messenger_shape
from sandbox.telegram_api import TelegramStandIn
from sandbox.transcription_api import VOICE_NOTE, VOICE_NOTE_WORDS, TranscriptionStandIn
from sandbox.whatsapp_api import WhatsAppStandIn


@dataclass(frozen=True, slots=True)
class Sandbox:
    redis_url: str
    telegram: TelegramStandIn
    whatsapp: WhatsAppStandIn
    instagram: SendApiStandIn
    messenger: SendApiStandIn
    backend: ExampleBackend
    model: OpenAIStandIn
    transcription: TranscriptionStandIn
    env: dict[str, str]


def _relay(name: str, say: Callable[[str], None]) -> Callable[[str], None]:
    """Show the processes' own account of events: batchbot's log lines and any error."""

    def show(line: str) -> None:
        if " batchbot." in line:
            say(f"  [{name}] {line.split(' INFO ', 1)[-1].split(' WARNING ', 1)[-1]}")
        elif "ERROR" in line or "Traceback" in line:
            say(f"  [{name}] {line}")

    return show


@contextlib.asynccontextmanager
async def product(env: dict[str, str], say: Callable[[str], None]) -> AsyncIterator[None]:
    """The bot and two workers, started side by side (imports take seconds each)."""
    worker = [sys.executable, "-m", "worker"]
    starts = [
        ("bot", [sys.executable, "-m", "bot"], b"Meta webhooks: listening"),
        ("worker-1", worker, b"Starting worker"),
        ("worker-2", worker, b"Starting worker"),
    ]
    children = await launch_together(
        [
            ChildProcess.launch(command, env, ready, name=name, on_line=_relay(name, say))
            for name, command, ready in starts
        ]
    )
    try:
        yield
    finally:
        for child in children:
            await child.stop()


class SandboxFailed(Exception):
    """The sandbox cannot start; the message says what to do."""


async def _check_reachable(redis_url: str) -> None:
    """Before anything starts: the bot would wait for an unreachable Redis, silently."""
    client = Redis.from_url(redis_url, socket_connect_timeout=3)
    try:
        await client.ping()
    except (RedisError, OSError, ValueError) as error:
        raise SandboxFailed(
            f"REDIS_URL {redis_url} cannot be reached ({type(error).__name__}: {error}); "
            "start Redis there, or unset REDIS_URL and the demo starts its own"
        ) from None
    finally:
        await client.aclose()


async def _redis_for_the_sandbox() -> tuple[RedisServer | None, str]:
    """REDIS_URL's Redis when set (and reachable), else one of the sandbox's own."""
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        await _check_reachable(redis_url)
        return None, redis_url
    redis_server = RedisServer(outlives_group_signals=True)
    redis_server.start()
    return redis_server, redis_server.url


@contextlib.asynccontextmanager
async def sandbox_running(
    say: Callable[[str], None],
    answerer: Answerer | None = None,
    *,
    model_settings: Callable[[OpenAIStandIn], dict[str, object]] | None = None,
    **settings: object,
) -> AsyncIterator[Sandbox]:
    """Everything up, the bot polling; ``settings`` by lower-case name, as for
    :func:`sandbox.environment.product_environment`. With ``model_settings`` the
    OpenAI-compatible stand-in starts too, and adds the settings that point at it."""
    redis_server, redis_url = await _redis_for_the_sandbox()
    telegram = TelegramStandIn(on_event=say)
    whatsapp = WhatsAppStandIn(on_event=say)
    instagram = SendApiStandIn(instagram_shape(), on_event=say)
    messenger = SendApiStandIn(messenger_shape(), on_event=say)
    backend = ExampleBackend(on_event=say, answerer=answerer)
    model = OpenAIStandIn()
    transcription = TranscriptionStandIn(delay_seconds=1.0)  # as a speech model takes time
    transcription.knows(VOICE_NOTE.read_bytes(), VOICE_NOTE_WORDS)
    try:
        await telegram.start()
        await whatsapp.start()
        await instagram.start()
        await messenger.start()
        await backend.start()
        await transcription.start()
        settings = {"transcribe_url": transcription.url, **settings}
        if model_settings is not None:
            await model.start()
            settings = {**settings, **model_settings(model)}
            say(f"OpenAI-compatible stand-in at {model.url}")
        say(f"sandbox Telegram at {telegram.url}, WhatsApp Cloud API at {whatsapp.api_url},")
        say(f"Instagram's Send API at {instagram.api_url}, Messenger's at {messenger.api_url},")
        say(f"example backend at {backend.url}, speech to text at {transcription.url}")
        say(f"Redis at {redis_url}; starting the bot and two workers ...")
        env = product_environment(
            redis_url,
            telegram,
            backend,
            whatsapp=whatsapp,
            instagram=instagram,
            messenger=messenger,
            **settings,
        )
        async with product(env, say):
            await telegram.wait_for_poller()
            yield Sandbox(
                redis_url, telegram, whatsapp, instagram, messenger, backend, model, transcription,
                env,
            )  # fmt: skip
            say("stopping the bot and the workers ...")
    finally:
        for stand_in in (backend, model, transcription, whatsapp, instagram, messenger, telegram):
            await stand_in.stop()
        if redis_server is not None:
            redis_server.remove()
