"""Ingest: updates per second through aiogram's ``feed_update`` and the handler, into Redis,
and the same bursts as WhatsApp, Instagram and Messenger webhook deliveries through the
bot's Meta webhook handler.

batchbot's handler against the batcher it replaces, written the way that one worked:
read the person's JSON list, append, write it back, write a timestamp key, and
enqueue a new ARQ job for every message. Both run in the same aiogram dispatcher set-up;
only the handler differs. Each configuration gets a fresh Redis database.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any

from aiogram import Bot, Dispatcher, Router
from aiogram.types import Message, Update
from arq.connections import ArqRedis
from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.connection import Connection

from bench.common import redis_commands
from bot.intake import StoringIntake, batch_store
from bot.meta_webhook import configured_webhooks
from bot.settings import BotSettings
from channels.meta.signature import SIGNATURE_HEADER, signature_of
from channels.telegram import make_bot
from channels.telegram.receiver.dispatcher import make_dispatcher
from sandbox.messaging_wire import SANDBOX_INSTAGRAM_ACCOUNT_ID, SANDBOX_PAGE_ID, text_event
from sandbox.messaging_wire import delivery_json as messaging_delivery
from sandbox.peek import pending_count
from sandbox.telegram_api import Person, TelegramStandIn
from sandbox.whatsapp_wire import SANDBOX_PHONE_NUMBER_ID, WaPerson, delivery_json, text_json
from shared.redis_connection import FastConnection

SENDS = 0


class _Counting:
    """Counts writes to Redis: one per command, one per pipeline."""

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        global SENDS  # noqa: PLW0603 - the benchmark's one counter
        SENDS += 1
        await super().send_packed_command(command, check_health)  # type: ignore[misc]


class CountingFastConnection(_Counting, FastConnection):
    pass


class CountingConnection(_Counting, Connection):
    pass


@dataclass(frozen=True, slots=True)
class IngestResult:
    name: str
    concurrency: int
    messages: int
    per_second: float
    round_trips_per_message: float
    commands_per_message: float
    lost: int
    rounds: tuple[int, ...] = ()
    """msgs/s of every round; the figures above are the median round's."""

    @classmethod
    def of(
        cls,
        name: str,
        concurrency: int,
        messages: int,
        seconds: float,
        sends: int,
        commands: int,
        stored: int,
    ) -> IngestResult:
        """The figures of one run, per message."""
        return cls(
            name=name,
            concurrency=concurrency,
            messages=messages,
            per_second=messages / seconds,
            round_trips_per_message=sends / messages,
            commands_per_message=commands / messages,
            lost=messages - stored,
        )


def updates(people: int, burst: int) -> list[dict[str, Any]]:
    """Each person's ``burst`` text messages back to back, one person after another:
    people type in bursts, which is why batchbot exists."""
    stand_in = TelegramStandIn()
    return [
        stand_in.compose(Person(id=100_000 + p, first_name=f"P{p}"), f"message {n} of a burst")
        for p in range(people)
        for n in range(burst)
    ]


async def _feed(
    dispatcher: Dispatcher, bot: Bot, raw: list[dict[str, Any]], concurrency: int
) -> float:
    """Feed every update, ``concurrency`` at a time as polling or webhooks would; seconds."""
    pending: Iterator[dict[str, Any]] = iter(raw)

    async def feeder() -> None:
        for update in pending:
            await dispatcher.feed_update(bot, Update.model_validate(update, context={"bot": bot}))

    started = time.perf_counter()
    await asyncio.gather(*(feeder() for _ in range(concurrency)))
    return time.perf_counter() - started


def naive_router(redis: ArqRedis) -> Router:
    """The replaced design, as it was written."""
    router = Router(name="naive")

    @router.message()
    async def store(message: Message) -> None:
        assert message.from_user is not None
        user = message.from_user.id
        stored = await redis.get(f"naive:batch:{user}")
        items = json.loads(stored) if stored else []
        items.append(message.model_dump(mode="json", exclude_none=True))
        await redis.set(f"naive:batch:{user}", json.dumps(items), ex=3600)
        await redis.set(f"naive:last:{user}", time.time(), ex=3600)
        await redis.enqueue_job("naive_batch", user, _defer_by=10)

    return router


async def _stored_batchbot(redis: Redis) -> int:
    total = 0
    async for key in redis.scan_iter(match="batch:*", count=1000):
        total += await pending_count(redis, key.decode().removeprefix("batch:"))
    return total


async def _stored_naive(redis: Redis) -> int:
    total = 0
    async for key in redis.scan_iter(match="naive:batch:*", count=1000):
        total += len(json.loads(await redis.get(key)))
    return total


Signed = tuple[bytes, dict[str, str]]
"""A delivery's body and the headers that sign it."""

Setup = Callable[[str], Coroutine[Any, Any, tuple[Dispatcher, Redis]]]


async def _batchbot(url: str) -> tuple[Dispatcher, Redis]:
    settings = BotSettings(bot_token="123:bench", redis_url=url)
    redis = Redis(
        connection_pool=ConnectionPool.from_url(url, connection_class=CountingFastConnection)
    )
    intake = StoringIntake.of(batch_store(redis, settings), settings)
    return make_dispatcher(intake.patient(), settings), redis


async def _naive(url: str) -> tuple[Dispatcher, Redis]:
    redis = ArqRedis(
        connection_pool=ConnectionPool.from_url(url, connection_class=CountingConnection)
    )
    dispatcher = Dispatcher(disable_fsm=True)  # the same set-up as batchbot's dispatcher
    dispatcher.include_router(naive_router(redis))
    return dispatcher, redis


async def measure(
    name: str, setup: Setup, url: str, raw: list[dict[str, Any]], concurrency: int
) -> IngestResult:
    global SENDS  # noqa: PLW0603
    admin = Redis.from_url(url)
    await admin.flushall()
    dispatcher, redis = await setup(url)
    bot = make_bot(BotSettings(bot_token="123:bench", redis_url=url))
    await redis.ping()
    commands_before = await redis_commands(admin)
    SENDS = 0
    seconds = await _feed(dispatcher, bot, raw, concurrency)
    sends = SENDS
    commands = await redis_commands(admin) - commands_before - 1  # the INFO call itself
    stored = await (_stored_naive(admin) if name == "naive" else _stored_batchbot(admin))
    await redis.aclose()
    await admin.aclose()
    await bot.session.close()
    return IngestResult.of(name, concurrency, len(raw), seconds, sends, commands, stored)


CHANNEL_SETTINGS: dict[str, dict[str, Any]] = {
    "whatsapp": {
        "whatsapp_access_token": "EAAG-bench",
        "whatsapp_phone_number_id": SANDBOX_PHONE_NUMBER_ID,
    },
    "instagram": {
        "instagram_access_token": "IGAA-bench",
        "instagram_account_id": SANDBOX_INSTAGRAM_ACCOUNT_ID,
    },
    "messenger": {
        "messenger_page_access_token": "EAAG-bench-page",
        "messenger_page_id": SANDBOX_PAGE_ID,
    },
}


def meta_deliveries(channel: str, people: int, burst: int, secret: str) -> list[Signed]:
    """The same bursts on a Meta channel: each message its own signed delivery, as Meta
    sends them."""
    signed = []
    for p in range(people):
        for n in range(burst):
            text = f"message {n} of a burst"
            if channel == "whatsapp":
                person = WaPerson(wa_id=str(14_155_500_000 + p), name=f"P{p}")
                delivery = delivery_json((person, text_json(person, text)))
            else:
                instagram = channel == "instagram"
                account = SANDBOX_INSTAGRAM_ACCOUNT_ID if instagram else SANDBOX_PAGE_ID
                event = text_event(str(6_100_000_000_000_000 + p), account, text)
                delivery = messaging_delivery("instagram" if instagram else "page", account, event)
            body = json.dumps(delivery).encode()
            signed.append((body, {SIGNATURE_HEADER: signature_of(secret, body)}))
    return signed


async def measure_meta(
    url: str, channel: str, deliveries: list[Signed], secret: str, concurrency: int
) -> IngestResult:
    """A Meta channel's webhook handler (signature, parsing, store) without the HTTP
    server, as the Telegram rows measure aiogram's handling without polling."""
    global SENDS  # noqa: PLW0603
    admin = Redis.from_url(url)
    await admin.flushall()
    redis = Redis(
        connection_pool=ConnectionPool.from_url(url, connection_class=CountingFastConnection)
    )
    settings = BotSettings(
        redis_url=url,
        meta_app_secret=secret,
        meta_verify_token="bench-verify",
        **CHANNEL_SETTINGS[channel],
    )
    [webhook] = configured_webhooks(
        StoringIntake.of(batch_store(redis, settings), settings), settings
    )
    await redis.ping()
    commands_before = await redis_commands(admin)
    SENDS = 0
    pending = iter(deliveries)

    async def feeder() -> None:
        for body, signature in pending:
            response = await webhook.take(body, signature)
            assert response.status == 200, response.text

    started = time.perf_counter()
    await asyncio.gather(*(feeder() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    sends = SENDS
    commands = await redis_commands(admin) - commands_before - 1
    stored = await _stored_batchbot(admin)
    await redis.aclose()
    await admin.aclose()
    count = len(deliveries)
    return IngestResult.of(channel, concurrency, count, seconds, sends, commands, stored)


ROUNDS = 3
"""Each configuration is measured this many times, the rounds interleaved, and the median
round is reported: one round of a few seconds moved by 30% or more from run to run."""


def _median(rounds: list[IngestResult]) -> IngestResult:
    """The round with the median rate, all rates kept beside it."""
    ranked = sorted(rounds, key=lambda r: r.per_second)
    middle = ranked[len(ranked) // 2]
    return dataclasses.replace(middle, rounds=tuple(round(r.per_second) for r in rounds))


async def run(
    url: str, people: int = 1000, burst: int = 5, rounds: int = ROUNDS
) -> list[IngestResult]:
    raw = updates(people, burst)
    secret = "bench-app-secret"
    meta = {
        channel: meta_deliveries(channel, people, burst, secret) for channel in CHANNEL_SETTINGS
    }
    results = []
    for concurrency in (1, 100):
        measured: dict[str, list[IngestResult]] = {}
        for _ in range(rounds):  # interleaved: a slow spell of the machine hits every design
            measured.setdefault("batchbot", []).append(
                await measure("batchbot", _batchbot, url, raw, concurrency)
            )
            for channel, signed in meta.items():
                measured.setdefault(channel, []).append(
                    await measure_meta(url, channel, signed, secret, concurrency)
                )
            measured.setdefault("naive", []).append(
                await measure("naive", _naive, url, raw, concurrency)
            )
        results += [_median(rows) for rows in measured.values()]
    return results
