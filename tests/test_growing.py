"""Streamed answers where Telegram has no drafts (Business chats and groups): one message,
sent at the answer's first piece, grows by edits (editMessageText, with the business
connection in a business chat), throttled to Telegram's limits, and ends as the full
answer; past 4,096 characters it continues in a next message. A worker killed mid-stream
leaves one message, edited into place by the run that resumes; a message the person
deleted gets the answer anew; a message sent meanwhile is the next batch."""

from __future__ import annotations

import asyncio
import itertools
import signal

import pytest
from redis.asyncio import Redis

from sandbox.example_backend import ExampleBackend
from sandbox.launcher import launch_together
from sandbox.telegram_api import Edit, Person, SentMessage, TelegramStandIn
from sandbox.telegram_business import Business, business_message, connect
from shared.models import BatchRequest, BatchResponse, OutgoingMessage
from tests.conftest import Product, SettingsFactory, WorkerProcess, wait_until_idle
from tests.crashes import the_claimer
from worker.reply_parts import split_text

OWNER = Person(id=5301, first_name="Olga")
SALON = Business(connection_id="BCAAAAgrowing-1", owner=OWNER)
CARL = Person(id=6301, first_name="Carl")
IDA = Person(id=6302, first_name="Ida")
GROUP = -100630


def words(request: BatchRequest) -> str:
    said = request.messages[-1].text or ""
    return f"{request.user.first_name} ({said}): " + " ".join(f"word{n}" for n in range(40))


async def forty_words(request: BatchRequest) -> BatchResponse:
    return BatchResponse(messages=[OutgoingMessage(text=words(request))])


async def a_long_answer(request: BatchRequest) -> BatchResponse:
    """About 6,000 characters in 60 pieces: more than one Telegram message holds."""
    text = " ".join(f"{n:02d}" + "x" * 97 for n in range(60))
    return BatchResponse(messages=[OutgoingMessage(text=text)])


@pytest.fixture
def streaming(backend: ExampleBackend) -> ExampleBackend:
    backend.stream = True
    backend.seconds_per_piece = 0.06  # 42 pieces: about 2.5 s of writing
    backend.answerer = forty_words
    return backend


def in_chat(telegram: TelegramStandIn, chat_id: int) -> list[SentMessage]:
    return [m for m in telegram.sent if m.chat_id == chat_id]


async def until_a_message_in(telegram: TelegramStandIn, chat_id: int, count: int = 1) -> None:
    await telegram.wait_for_messages(chat_id, count)


async def until_edited(telegram: TelegramStandIn, chat_id: int) -> Edit:
    """The first edit in the chat: the message's id was recorded before it."""
    async with asyncio.timeout(30):
        while not (edits := [e for e in telegram.edits if e.chat_id == chat_id]):
            await asyncio.sleep(0.02)
    return edits[0]


def grew(edits: list[Edit], final: str) -> None:
    """Each edit showed more of the same answer, the last the whole of it."""
    texts = [edit.text for edit in edits]
    assert len(texts) >= 2, texts
    assert all(later.startswith(earlier) for earlier, later in itertools.pairwise(texts))
    assert texts[-1] == final


async def test_in_a_business_chat_one_message_grows_by_edits_into_the_full_answer(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    streaming: ExampleBackend,
    redis: Redis,
) -> None:
    await product.start(make_settings())
    await connect(telegram, SALON)
    await telegram.deliver(business_message(telegram, SALON, CARL, "tell me about cuts"))
    await until_a_message_in(telegram, CARL.id)
    await wait_until_idle(redis)

    [call] = streaming.calls
    final = words(call.request)
    [message] = in_chat(telegram, CARL.id)
    assert message.text == final
    assert message.business_connection_id == SALON.connection_id
    edits = telegram.edits_of(CARL.id, message.message_id)
    grew(edits, final)
    assert all(edit.business_connection_id == SALON.connection_id for edit in edits)
    # While it was written, no more than one edit a second (Telegram's limit for a chat;
    # DRAFT_UPDATES_PER_SECOND=2 would allow two).
    while_written = [edit.at for edit in edits[:-1]]
    assert min(b - a for a, b in itertools.pairwise([message.at, *while_written])) >= 0.95
    assert telegram.drafts == []  # drafts take no business connection
    assert telegram.deleted == []


async def test_in_a_group_the_answer_grows_in_one_reply_at_most_one_edit_in_3_seconds(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    streaming: ExampleBackend,
    redis: Redis,
) -> None:
    streaming.seconds_per_piece = 0.18  # about 7.5 s of writing: two edits 3 s apart
    await product.start(make_settings(group_answer_when="always"))
    asked = await telegram.person_says(IDA, "hi all", chat_id=GROUP, chat_type="supergroup")
    await until_a_message_in(telegram, GROUP)
    await wait_until_idle(redis)

    [message] = in_chat(telegram, GROUP)
    assert message.reply_to == asked["message"]["message_id"]  # whom it answers
    assert message.text == words(streaming.calls[0].request)
    edits = telegram.edits_of(GROUP, message.message_id)
    grew(edits, message.text)
    while_written = [edit.at for edit in edits[:-1]]
    assert min(b - a for a, b in itertools.pairwise([message.at, *while_written])) >= 2.95
    assert telegram.drafts == []


async def test_past_4096_characters_the_answer_continues_in_a_next_message(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    streaming: ExampleBackend,
    redis: Redis,
) -> None:
    streaming.answerer = a_long_answer
    streaming.seconds_per_piece = 0.04
    await product.start(make_settings())
    await connect(telegram, SALON)
    await telegram.deliver(business_message(telegram, SALON, CARL, "the whole price list"))
    await until_a_message_in(telegram, CARL.id, 2)
    await wait_until_idle(redis)

    final = (await a_long_answer(streaming.calls[0].request)).messages[0].text or ""
    first, second = in_chat(telegram, CARL.id)
    assert [first.text, second.text] == split_text(final)  # as a complete answer is cut
    assert len(telegram.edits_of(CARL.id, first.message_id)) >= 1  # it grew before it was full
    assert all(len(edit.text) <= 4096 for edit in telegram.edits)
    assert telegram.deleted == []


async def test_a_growing_message_the_person_deleted_gets_the_answer_anew(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    streaming: ExampleBackend,
    redis: Redis,
) -> None:
    await product.start(make_settings())
    await connect(telegram, SALON)
    await telegram.deliver(business_message(telegram, SALON, CARL, "tell me about colour"))
    await until_a_message_in(telegram, CARL.id)
    [growing] = in_chat(telegram, CARL.id)
    await telegram.person_deletes(CARL.id, growing.message_id)
    await until_a_message_in(telegram, CARL.id)
    await wait_until_idle(redis)

    [answer] = in_chat(telegram, CARL.id)
    assert answer.message_id != growing.message_id
    assert answer.text == words(streaming.calls[0].request)
    assert [m.message_id for m in telegram.deleted] == [growing.message_id]
    assert len(streaming.calls) == 1


async def test_a_message_sent_while_the_answer_grows_is_the_next_batch(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    streaming: ExampleBackend,
    redis: Redis,
) -> None:
    """The growing message is a sent part: what comes after it is not folded into its
    batch (supersede), it is answered next."""
    await product.start(make_settings())
    await connect(telegram, SALON)
    await telegram.deliver(business_message(telegram, SALON, CARL, "first question"))
    await until_a_message_in(telegram, CARL.id)
    [growing] = in_chat(telegram, CARL.id)
    await telegram.deliver(business_message(telegram, SALON, CARL, "second question"))
    await until_a_message_in(telegram, CARL.id, 2)
    await wait_until_idle(redis)

    first, second = streaming.calls
    assert growing.text != words(first.request)  # the second came while it was written
    assert [m.text for m in first.request.messages] == ["first question"]
    assert [m.text for m in second.request.messages] == ["second question"]
    assert [m.text for m in in_chat(telegram, CARL.id)] == [
        words(first.request),
        words(second.request),
    ]


async def test_a_worker_killed_mid_stream_in_a_business_chat_leaves_one_message(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    streaming: ExampleBackend,
    redis: Redis,
    worker_processes: list[WorkerProcess],
) -> None:
    streaming.seconds_per_piece = 0.1  # about 4 s of writing: time to kill mid-stream
    settings = make_settings()
    await product.start_bot(settings)
    workers = await launch_together([WorkerProcess.start(settings) for _ in range(2)])
    worker_processes.extend(workers)
    await connect(telegram, SALON)
    await telegram.deliver(business_message(telegram, SALON, CARL, "tell me a story"))
    await until_edited(telegram, CARL.id)
    assert await (await the_claimer(workers)).stop(signal.SIGKILL) == -signal.SIGKILL

    await streaming.wait_for_answered(1)  # the resumed run asked again...
    await wait_until_idle(redis)  # ...and edited its answer into place
    first, second = streaming.received
    assert first.batch_id == second.batch_id  # the same batch, asked again
    [message] = in_chat(telegram, CARL.id)
    assert message.text == words(second)
    assert telegram.deleted == []
