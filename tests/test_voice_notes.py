"""Voice notes heard while the person is still writing (TRANSCRIBE_URL): a worker fetches
the note from Telegram and has it transcribed during the window; the batch waits for the
transcript, never longer than TRANSCRIBE_TIMEOUT_SECONDS, and goes without it (saying
why in ``transcript_error``) when it fails, comes too late, or the file is over the cap.
A worker killed mid-transcription leaves it to another: one transcript, one answer."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from redis.asyncio import Redis

from backend_client import placeholder
from batchctl.inspect import conversation_detail
from sandbox.example_backend import ExampleBackend
from sandbox.launcher import ChildProcess, launch_together
from sandbox.redis_server import RedisServer
from sandbox.telegram_api import Person, TelegramStandIn
from sandbox.transcription_api import VOICE_NOTE, VOICE_NOTE_WORDS, TranscriptionStandIn
from sandbox.whatsapp_api import WhatsAppStandIn
from sandbox.whatsapp_wire import WaPerson
from shared.handoff import Handoffs
from shared.history import user_turn
from shared.keys import MEDIA_QUEUE
from shared.models import IncomingMessage, MessageKind
from shared.replicated import ScriptRunner
from tests.conftest import Product, SettingsFactory, WorkerProcess, wait_until_idle
from tests.test_whatsapp import start_bot
from worker.settings import WorkerProcessSettings

NOTE = VOICE_NOTE.read_bytes()  # a real OGG/Opus note; the stand-in hears what it is told
WORDS = VOICE_NOTE_WORDS
EVA = Person(id=7701, first_name="Eva")


@pytest.fixture
async def transcription() -> AsyncIterator[TranscriptionStandIn]:
    stand_in = TranscriptionStandIn()
    await stand_in.start()
    stand_in.knows(NOTE, WORDS)
    yield stand_in
    await stand_in.stop()


def hearing(
    make_settings: SettingsFactory, transcription: TranscriptionStandIn, **more: Any
) -> WorkerProcessSettings:
    values: dict[str, Any] = {"transcribe_timeout_seconds": 5, **more}
    return make_settings(
        transcribe_url=transcription.url,
        transcribe_api_key="sk-test-transcription-key-0123",
        **values,
    )


async def test_a_voice_note_then_two_texts_are_one_batch_with_the_transcript(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    transcription: TranscriptionStandIn,
    redis: Redis,
) -> None:
    await product.start(hearing(make_settings, transcription, batch_window_seconds=1))
    await telegram.person_speaks(EVA, NOTE, duration=4)
    await telegram.person_says(EVA, "or the day after")
    await telegram.person_says(EVA, "thanks!")
    await telegram.wait_for_messages(EVA.id, 1)
    await wait_until_idle(redis)

    [call] = backend.calls
    voice, first, second = call.request.messages
    assert (voice.kind, voice.transcript, voice.duration) == (MessageKind.VOICE, WORDS, 4)
    assert voice.transcript_error is None
    assert [first.text, second.text] == ["or the day after", "thanks!"]
    [heard] = transcription.calls
    assert (heard.model, heard.file_name, heard.size) == ("whisper-1", "voice.ogg", len(NOTE))
    assert heard.authorization == "Bearer sk-test-transcription-key-0123"
    assert await redis.zcard(MEDIA_QUEUE) == 0


async def test_a_slow_transcription_holds_the_batch_until_the_transcript_is_stored(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    transcription: TranscriptionStandIn,
    redis: Redis,
) -> None:
    transcription.delay_seconds = 2.0  # longer than the 0.5 s window
    await product.start(hearing(make_settings, transcription))
    await telegram.person_speaks(EVA, NOTE, duration=4)
    async with asyncio.timeout(30):
        while not transcription.calls:
            await asyncio.sleep(0.02)
    shown = await conversation_detail(redis, str(EVA.id))  # what batchctl inspect prints
    assert shown is not None
    [waiting] = shown["pending"]
    assert waiting["transcribing"] is True and "transcript" not in waiting
    await telegram.person_says(EVA, "still there?")  # its window must not end the wait
    await telegram.wait_for_messages(EVA.id, 1)
    await wait_until_idle(redis)

    [call] = backend.calls
    voice, text = call.request.messages
    assert (voice.transcript, text.text) == (WORDS, "still there?")
    [heard] = transcription.calls
    assert call.started_at - heard.at >= 2.0  # the batch went only once it was heard


@pytest.mark.parametrize(
    ("failures", "delay", "said"),
    [
        ([400], 0.0, "transcription refused it (400): the stand-in failed as asked"),
        ([500, 500, 500], 0.0, "transcription answered 500"),
        ([], 8.0, "not transcribed within TRANSCRIBE_TIMEOUT_SECONDS (5 s)"),
    ],
    ids=["refused", "failing-three-times", "too-slow"],
)
async def test_a_transcription_that_fails_or_is_late_lets_the_batch_go_saying_why(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    transcription: TranscriptionStandIn,
    redis: Redis,
    failures: list[int],
    delay: float,
    said: str,
) -> None:
    transcription.failures, transcription.delay_seconds = failures, delay
    await product.start(hearing(make_settings, transcription))
    await telegram.person_speaks(EVA, NOTE, duration=4)
    await telegram.person_says(EVA, "did you get my voice note?")
    await telegram.wait_for_messages(EVA.id, 1, timeout_seconds=30)
    await wait_until_idle(redis)

    [call] = backend.calls
    voice, text = call.request.messages
    assert voice.transcript is None
    assert voice.transcript_error is not None and said in voice.transcript_error
    assert text.text == "did you get my voice note?"


@pytest.mark.parametrize(
    ("cap", "duration", "said"),
    [
        ({"transcribe_max_seconds": 60}, 95,
         "the voice note is 95 s long, over the cap of 60 s (TRANSCRIBE_MAX_SECONDS)"),
        ({"transcribe_max_bytes": 4096}, 4,
         f"not transcribed: the file is {len(NOTE):,} bytes, over the cap of 4,096 bytes"),
    ],
    ids=["too-long", "too-large"],
)  # fmt: skip
async def test_a_voice_note_over_a_cap_is_not_transcribed_and_says_why(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    transcription: TranscriptionStandIn,
    redis: Redis,
    cap: dict[str, int],
    duration: int,
    said: str,
) -> None:
    await product.start(hearing(make_settings, transcription, **cap))
    await telegram.person_speaks(EVA, NOTE, duration=duration)
    await telegram.wait_for_messages(EVA.id, 1)
    await wait_until_idle(redis)

    [voice] = backend.calls[0].request.messages
    assert voice.transcript_error == said
    assert transcription.calls == []  # nothing was sent to be transcribed


async def test_a_worker_killed_mid_transcription_leaves_it_to_another_one_answer(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    transcription: TranscriptionStandIn,
    redis: Redis,
    worker_processes: list[WorkerProcess],
) -> None:
    transcription.delay_seconds = 1.5
    settings = hearing(
        make_settings, transcription, transcribe_timeout_seconds=20, worker_lease_seconds=2
    )
    await product.start_bot(settings)
    workers = await launch_together([WorkerProcess.start(settings) for _ in range(2)])
    worker_processes.extend(workers)
    await telegram.person_speaks(EVA, NOTE, duration=4)
    async with asyncio.timeout(30):
        while not transcription.calls:
            await asyncio.sleep(0.02)
    [doomed] = [w for w in workers if w.logged(b"transcribing media-item:")]
    assert await doomed.stop(signal.SIGKILL) == -signal.SIGKILL

    await telegram.wait_for_messages(EVA.id, 1, timeout_seconds=30)
    await wait_until_idle(redis)
    [call] = backend.calls
    [voice] = call.request.messages
    assert voice.transcript == WORDS
    assert len(transcription.calls) == 2  # the killed worker's call, then the other's
    assert telegram.messages_to(EVA.id) == [telegram.messages_to(EVA.id)[0]]


async def test_a_voice_note_that_supersedes_a_batch_joins_it_and_is_waited_for(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    transcription: TranscriptionStandIn,
    redis: Redis,
) -> None:
    """ "hi" is at the backend when the voice note comes: the batch is abandoned, and the
    burst of both goes once the note is heard: one answer."""
    backend.delay_seconds = 1.5
    transcription.delay_seconds = 1.0
    await product.start(hearing(make_settings, transcription))
    await telegram.person_says(EVA, "hi")
    await backend.wait_for_received(1)
    await telegram.person_speaks(EVA, NOTE, duration=4)
    await telegram.wait_for_messages(EVA.id, 1)
    await wait_until_idle(redis)

    first, second = backend.received
    assert [m.text for m in first.messages] == ["hi"]
    hi, voice = second.messages  # the burst of both, once the note was heard
    assert (hi.text, voice.transcript) == ("hi", WORDS)
    [answer] = telegram.messages_to(EVA.id)  # the abandoned call's answer was never sent
    assert WORDS in answer and "hi" in answer


async def test_a_voice_note_held_for_a_human_gets_its_transcript_where_it_waits(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    transcription: TranscriptionStandIn,
    redis: Redis,
) -> None:
    transcription.delay_seconds = 1.0
    await product.start(hearing(make_settings, transcription))
    await telegram.person_speaks(EVA, NOTE, duration=4)
    async with asyncio.timeout(30):
        while not transcription.calls:
            await asyncio.sleep(0.02)
    held = f"held:{EVA.id}"
    taken = await Handoffs(redis, 3600, ScriptRunner(redis)).take_over(str(EVA.id), "api", 600)
    assert taken.held == 1  # the note waits for the human now, not for an answer
    async with asyncio.timeout(30):
        while await redis.zcard(MEDIA_QUEUE):
            await asyncio.sleep(0.02)

    stored = await redis.lrange(held, 0, -1)  # type: ignore[misc]
    [note] = [IncomingMessage.model_validate_json(item) for item in stored]
    assert note.transcript == WORDS
    assert backend.received == []
    assert telegram.messages_to(EVA.id) == []


async def test_redis_away_while_a_note_is_transcribed_loses_nothing(
    durable_redis: RedisServer,  # first, so it outlives the product at teardown
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    transcription: TranscriptionStandIn,
) -> None:
    transcription.delay_seconds = 1.0
    settings = hearing(make_settings, transcription, redis_url=durable_redis.url)
    await product.start(settings)
    await telegram.person_speaks(EVA, NOTE, duration=4)
    async with asyncio.timeout(30):
        while not transcription.calls:
            await asyncio.sleep(0.02)
    durable_redis.stop()
    async with asyncio.timeout(30):  # heard while Redis is away: the words wait to be stored
        while not transcription.finished:
            await asyncio.sleep(0.02)
    durable_redis.start()

    await telegram.wait_for_messages(EVA.id, 1, timeout_seconds=60)
    [call] = backend.calls
    [voice] = call.request.messages
    assert voice.transcript == WORDS
    assert product.crashed() == []


async def test_a_whatsapp_voice_note_is_fetched_with_the_access_token_and_heard(
    make_settings: SettingsFactory,
    product: Product,
    whatsapp: WhatsAppStandIn,
    backend: ExampleBackend,
    transcription: TranscriptionStandIn,
    redis: Redis,
    bot_process: list[ChildProcess],
) -> None:
    """The media id → the URL the Graph API gives → the bytes, both with the token."""
    settings = hearing(
        make_settings,
        transcription,
        bot_token=None,
        whatsapp_access_token=whatsapp.access_token,
        whatsapp_api_url=whatsapp.api_url,
    )
    await start_bot(settings, whatsapp, bot_process)
    await product.start_workers(settings)
    wanda = WaPerson(wa_id="16505550111", name="Wanda")
    await whatsapp.person_speaks(wanda, NOTE)
    await whatsapp.person_says(wanda, "is that ok?")
    await whatsapp.wait_for_messages(wanda.wa_id, 1)
    await wait_until_idle(redis)

    [call] = backend.calls
    voice, text = call.request.messages
    assert (voice.kind, voice.transcript, text.text) == (MessageKind.VOICE, WORDS, "is that ok?")
    [heard] = transcription.calls
    assert heard.size == len(NOTE)


def test_a_transcript_is_the_persons_words_to_a_model_and_in_the_history() -> None:
    """BACKEND_PROTOCOL=openai reads the transcript as what was said; HISTORY_TURNS keeps it."""
    voice = IncomingMessage(
        message_id=9, date=datetime.now(UTC), kind=MessageKind.VOICE, transcript=WORDS, duration=4
    )
    late = voice.model_copy(update={"transcript": None, "transcript_error": "too slow"})
    assert placeholder(voice) == f"[voice message] {WORDS}"
    assert placeholder(late) == "[voice message]"
    assert WORDS in user_turn([voice]).text
