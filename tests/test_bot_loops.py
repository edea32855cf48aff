"""Bots answering bots (Bot API 10.0 lets bots write to each other): their messages are
left out unless ANSWER_BOTS, and ANSWERS_PER_HOUR_MAX stops two assistants answering each
other forever, with one log line for the conversation and a metric."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from sandbox.example_backend import ExampleBackend
from sandbox.telegram_api import Person, TelegramStandIn
from tests.conftest import Product, SettingsFactory, wait_until_idle

ROBO = Person(id=7707, first_name="Robo", username="robo_bot", is_bot=True)
ANA = Person(id=7708, first_name="Ana")


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, {"channel": "telegram", **labels}) or 0.0


def capped() -> float:
    return counted("batchbot_answers_capped_total")


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(20):
        while not condition():
            await asyncio.sleep(0.02)


async def test_messages_from_bots_are_left_out_by_default(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    ignored = counted("batchbot_messages_from_bots_ignored_total")
    await product.start(make_settings())

    await telegram.person_says(ROBO, "I am a bot, answer me")
    await until(lambda: counted("batchbot_messages_from_bots_ignored_total") == ignored + 1)
    await telegram.person_says(ANA, "I am a person")
    await telegram.wait_for_messages(ANA.id, 1)
    await wait_until_idle(redis)

    assert telegram.messages_to(ROBO.id) == []
    assert [request.user.id for request in backend.received] == [ANA.id]


async def test_two_bots_in_a_loop_are_stopped_by_the_cap(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="batchbot.worker")
    before = capped()
    await product.start(make_settings(answer_bots=True, answers_per_hour_max=3))

    for n in range(3):  # the other bot answers each of our answers
        await telegram.person_says(ROBO, f"ping {n}")
        await telegram.wait_for_messages(ROBO.id, n + 1)
    for left_unanswered in range(1, 4):
        await telegram.person_says(ROBO, f"ping again ({left_unanswered})")
        await until(lambda: capped() >= before + left_unanswered)  # noqa: B023 (awaited here)
    await wait_until_idle(redis)

    assert len(telegram.messages_to(ROBO.id)) == 3  # the loop ends at the cap
    assert len(backend.received) == 3  # and the backend is not asked meanwhile
    said = [r.getMessage() for r in caplog.records if "ANSWERS_PER_HOUR_MAX" in r.getMessage()]
    assert len(said) == 1 and str(ROBO.id) in said[0]  # one line for the conversation
    assert counted("batchbot_batches_total", outcome="capped") >= 3
