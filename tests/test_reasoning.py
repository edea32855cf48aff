"""A model's reasoning, streamed before its answer (an event of its own in the contract;
``delta.reasoning_content`` or ``delta.reasoning`` in openai mode), shows in a private
chat's draft as a thinking block above the answer (``sendRichMessageDraft``) with
DRAFT_REASONING, and never in the message or the history."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from sandbox.example_backend import ExampleBackend
from sandbox.openai_api import OpenAIStandIn
from sandbox.telegram_api import Draft, Person, TelegramStandIn
from shared.keys import ConversationKeys
from shared.models import BatchRequest, BatchResponse, OutgoingMessage, Turn
from tests.conftest import Product, SettingsFactory, wait_until_idle

LEO = Person(id=8903, first_name="Leo")
THOUGHT = "The person asks about opening hours; the shop opens at nine, so say nine."
ANSWER = "We open at nine tomorrow."


async def nine(request: BatchRequest) -> BatchResponse:
    return BatchResponse(messages=[OutgoingMessage(text=ANSWER)])


async def history_texts(redis: Redis) -> list[str]:
    raw = await redis.lrange(ConversationKeys(str(LEO.id)).history, 0, -1)  # type: ignore[misc]
    return [Turn.model_validate_json(item).text for item in raw]


def shown_reasoning(drafts: list[Draft]) -> None:
    """The reasoning grew in a thinking block, then the answer grew below it."""
    thinking = [draft for draft in drafts if draft.reasoning]
    assert thinking, "the reasoning was shown"
    assert THOUGHT.startswith(thinking[0].reasoning)
    assert thinking[-1].reasoning == THOUGHT
    assert ANSWER.startswith(thinking[-1].text)


async def test_streamed_reasoning_shows_above_the_answer_and_never_in_the_message(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    backend.stream, backend.seconds_per_piece, backend.answerer = True, 0.2, nine
    backend.reasoning = THOUGHT
    await product.start(make_settings(draft_reasoning=True, history_turns=4))

    await telegram.person_says(LEO, "when do you open?")
    [message] = await telegram.wait_for_messages(LEO.id, 1)
    await wait_until_idle(redis)

    shown_reasoning(telegram.drafts)
    assert message == ANSWER
    assert await history_texts(redis) == ["when do you open?", ANSWER]


async def test_without_the_setting_the_reasoning_is_not_shown(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    backend.stream, backend.seconds_per_piece, backend.answerer = True, 0.05, nine
    backend.reasoning = THOUGHT
    await product.start(make_settings())

    await telegram.person_says(LEO, "when do you open?")
    [message] = await telegram.wait_for_messages(LEO.id, 1)
    await wait_until_idle(redis)

    assert all(draft.reasoning == "" for draft in telegram.drafts)
    assert message == ANSWER


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
async def test_a_models_reasoning_in_openai_mode_shows_in_the_draft_only(
    field: str,
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    model: OpenAIStandIn,
    redis: Redis,
) -> None:
    model.reasoning, model.reasoning_field, model.seconds_per_piece = THOUGHT, field, 0.1
    settings = make_settings(
        backend_protocol="openai",
        backend_url=model.url,
        backend_model="thinker-1",
        draft_reasoning=True,
        history_turns=4,
    )
    await product.start(settings)

    await telegram.person_says(LEO, "when do you open?")
    [message] = await telegram.wait_for_messages(LEO.id, 1)
    await wait_until_idle(redis)

    thinking = [draft for draft in telegram.drafts if draft.reasoning]
    assert thinking and thinking[-1].reasoning == THOUGHT
    assert THOUGHT not in message and "opening hours" not in message
    assert all(THOUGHT not in text for text in await history_texts(redis))
    assert len(await history_texts(redis)) == 2
