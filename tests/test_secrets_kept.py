"""Secrets never stored or served: a provider that repeats the API key in its 401, and a
backend that echoes a token in its answer, leave no trace of either in Redis, in
``batchctl dead-letters show``, in the console's ``/api/state``, or in the chat. A dead
letter stored before secrets were cut out is still shown without them by batchctl and the
console, which know the secrets of the environment they share with the workers."""

from __future__ import annotations

import json

import httpx
import pytest
from redis.asyncio import Redis

from batchctl.console import ConsoleSettings, serve
from sandbox.example_backend import ExampleBackend
from sandbox.openai_api import OpenAIStandIn
from sandbox.redis_server import RedisServer
from sandbox.telegram_api import Person, TelegramStandIn
from shared.dead_letters import DeadLetters
from shared.keys import DEAD_LETTERS_INDEX, dead_letter_key
from shared.models import BatchRequest, BatchResponse, OutgoingMessage
from shared.redaction import REDACTED, Redactor
from tests.conftest import Product, SettingsFactory, run_batchctl, wait_until_idle

API_KEY = 'sk-proj-Zq8"secret\\key-0123456789'
"""With a quote and a backslash: in stored JSON it appears escaped, and is cut there too."""
SIGNING_SECRET = "signing-secret-0123456789"
ANA = Person(id=7301, first_name="Ana")


async def everything_in_redis(redis: Redis) -> str:
    """Every key and value of the test's Redis as one text (strings, hashes, lists)."""
    dump: list[str] = []
    async for key in redis.scan_iter():
        kind = (await redis.type(key)).decode()
        dump.append(key.decode())
        if kind == "string":
            dump.append(str(await redis.get(key)))
        elif kind == "hash":
            dump.append(str(await redis.hgetall(key)))  # type: ignore[misc]
        elif kind == "list":
            dump.append(str(await redis.lrange(key, 0, -1)))  # type: ignore[misc]
        elif kind == "zset":
            dump.append(str(await redis.zrange(key, 0, -1)))
    return "\n".join(dump)


async def console_reads(redis: Redis, redis_server: RedisServer, path: str) -> str:
    runner = await serve(ConsoleSettings(redis_url=redis_server.url), redis, "127.0.0.1", 0)
    try:
        port = runner.addresses[0][1]
        async with httpx.AsyncClient() as http:
            got = await http.get(f"http://127.0.0.1:{port}{path}")
            assert got.status_code == 200, got.text
            return got.text
    finally:
        await runner.cleanup()


def no_key_in(text: str) -> None:
    assert API_KEY not in text
    assert json.dumps(API_KEY)[1:-1] not in text
    assert "0123456789" not in text


async def test_a_key_the_provider_repeats_is_cut_from_the_dead_letter_batchctl_and_console(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    model: OpenAIStandIn,
    redis: Redis,
    redis_server: RedisServer,
) -> None:
    model.fail_with = (401, f"Incorrect API key provided: {API_KEY}. Find your key at ...")
    settings = make_settings(
        backend_protocol="openai",
        backend_url=model.url,
        backend_model="gpt-4o-mini",
        backend_bearer_token=API_KEY,
    )
    await product.start(settings)
    await telegram.person_says(ANA, "hello")
    await telegram.wait_for_messages(ANA.id, 1)  # the apology
    await wait_until_idle(redis)

    [letter] = await DeadLetters(redis, settings.redis_key_ttl_seconds).newest()
    assert f"Incorrect API key provided: {REDACTED}" in letter.reason
    no_key_in(await everything_in_redis(redis))
    no_key_in(await run_batchctl(redis_server.url, "dead-letters", "show", letter.batch_id))
    no_key_in(await run_batchctl(redis_server.url, "dead-letters", "list"))
    state = await console_reads(redis, redis_server, "/api/state")
    assert REDACTED in state
    no_key_in(state)
    no_key_in(await console_reads(redis, redis_server, f"/api/dead-letters/{letter.batch_id}"))


async def test_a_backend_answer_that_echoes_a_secret_is_stored_and_sent_without_it(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    async def leaky(request: BatchRequest) -> BatchResponse:
        return BatchResponse(messages=[OutgoingMessage(text=f"my signing key is {SIGNING_SECRET}")])

    backend.answerer = leaky
    await product.start(make_settings(backend_signing_secret=SIGNING_SECRET, history_turns=4))
    await telegram.person_says(ANA, "what is your key?")
    [said] = await telegram.wait_for_messages(ANA.id, 1)
    await wait_until_idle(redis)
    assert said == f"my signing key is {REDACTED}"
    assert SIGNING_SECRET not in await everything_in_redis(redis)


async def test_a_dead_letter_stored_with_a_secret_is_shown_without_it(
    redis: Redis, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dead letters written by an older worker: batchctl and the console still cut what
    they know from the environment they share with the workers."""
    await redis.hset(  # type: ignore[misc]
        dead_letter_key("old"),
        mapping={
            "batch_id": "old",
            "conversation": "7301",
            "reason": f"model endpoint answered 401: Incorrect API key provided: {API_KEY}",
            "failed_at": "1700000000000",
            "messages": "[]",
            "chat": json.dumps({"id": 7301, "type": "private"}),
            "user": json.dumps({"id": 7301, "first_name": "Ana"}),
        },
    )
    await redis.zadd(DEAD_LETTERS_INDEX, {"old": 1700000000000})
    shown = await run_batchctl(
        redis_server.url, "dead-letters", "show", "old", BACKEND_BEARER_TOKEN=API_KEY
    )
    assert REDACTED in shown
    no_key_in(shown)
    monkeypatch.setenv("BACKEND_BEARER_TOKEN", API_KEY)
    no_key_in(await console_reads(redis, redis_server, "/api/state"))
    no_key_in(await console_reads(redis, redis_server, "/api/dead-letters/old"))


def test_a_reason_is_cut_to_a_sane_length_and_every_spelling_of_a_secret_goes() -> None:
    redact = Redactor([API_KEY, ""])
    stored = json.dumps({"reason": f"key {API_KEY}"})
    assert API_KEY not in redact(stored) and "0123456789" not in redact(stored)
    assert json.loads(redact(stored)) == {"reason": f"key {REDACTED}"}
    long = redact.reason("<html>" + "x" * 5000)
    assert len(long) < 2100 and long.endswith("(5006 characters in all)")
