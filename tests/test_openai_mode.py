"""BACKEND_PROTOCOL=openai: an OpenAI-compatible chat-completions endpoint (the sandbox's
stand-in over HTTP) is the backend. Streaming and not, with the system prompt and the
remembered turns, the API key as bearer token, the bot token in no request to the
model, photos inline as data URLs with BACKEND_VISION, and a provider's 4xx kept as a
dead letter with its message."""

from __future__ import annotations

import json
import time

from redis.asyncio import Redis

from sandbox.openai_api import OpenAIStandIn
from sandbox.telegram_api import Person, TelegramStandIn
from shared.dead_letters import DeadLetters
from shared.keys import MEDIA_QUEUE
from tests.conftest import Product, SettingsFactory, wait_until_idle
from worker.settings import WorkerProcessSettings

OLA = Person(id=9901, first_name="Ola")
PROMPT = "You are the assistant of a barber shop."


def openai_settings(
    make_settings: SettingsFactory, model: OpenAIStandIn, **overrides: object
) -> WorkerProcessSettings:
    return make_settings(
        backend_protocol="openai",
        backend_url=model.url,
        backend_model="barber-7b",
        backend_bearer_token="sk-test-key",
        backend_system_prompt=PROMPT,
        history_turns=6,
        **overrides,
    )


def nothing_of_telegram_in(model: OpenAIStandIn, telegram: TelegramStandIn) -> None:
    for call in model.calls:
        assert telegram.token.encode() not in call.raw
        assert all(telegram.token not in value for value in call.headers.values())
        assert b"/file/bot" not in call.raw


async def test_a_streamed_model_answer_with_system_prompt_history_and_drafts(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    model: OpenAIStandIn,
    redis: Redis,
) -> None:
    await product.start(openai_settings(make_settings, model))

    await telegram.person_says(OLA, "hi")
    await telegram.person_says(OLA, "can I book a cut?")
    [first] = await telegram.wait_for_messages(OLA.id, 1)
    await telegram.person_says(OLA, "friday 5pm")
    await telegram.wait_for_messages(OLA.id, 2)
    await wait_until_idle(redis)

    one, two = (call.body for call in model.calls)
    assert one["model"] == "barber-7b" and one["stream"] is True
    assert one["messages"] == [
        {"role": "system", "content": PROMPT},
        {"role": "user", "content": "hi\ncan I book a cut?"},
    ]
    assert two["messages"][1:] == [
        {"role": "user", "content": "hi\ncan I book a cut?"},
        {"role": "assistant", "content": first},
        {"role": "user", "content": "friday 5pm"},
    ]
    said = "hi\ncan I book a cut?"
    told = f'System prompt: "{PROMPT}"'
    assert first == f"barber-7b here. {told} Earlier turns: 0. You said: {said}"
    assert all(call.headers["Authorization"] == "Bearer sk-test-key" for call in model.calls)
    first_draft_id = telegram.drafts[0].draft_id  # the first batch's: its answer grew there
    drafts = [d.text for d in telegram.drafts if d.draft_id == first_draft_id]
    assert drafts and all(first.startswith(text) for text in drafts)
    nothing_of_telegram_in(model, telegram)


async def test_a_model_that_answers_json_instead_of_a_stream(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    model: OpenAIStandIn,
    redis: Redis,
) -> None:
    model.streams = False
    await product.start(openai_settings(make_settings, model))
    await telegram.person_says(OLA, "hello")
    [answer] = await telegram.wait_for_messages(OLA.id, 1)
    await wait_until_idle(redis)
    assert answer.endswith("You said: hello")
    assert len(model.calls) == 1


async def test_vision_sends_photos_as_data_urls_and_no_telegram_file_url(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    model: OpenAIStandIn,
    redis: Redis,
) -> None:
    await product.start(openai_settings(make_settings, model, backend_vision=True))
    await telegram.person_says(OLA, photo="AgAD-haircut", caption="like this?")
    [answer] = await telegram.wait_for_messages(OLA.id, 1)
    await wait_until_idle(redis)

    [call] = model.calls
    content = call.body["messages"][-1]["content"]
    assert content[0] == {"type": "text", "text": "[photo] like this?"}
    url = content[1]["image_url"]["url"]
    assert url.startswith("data:image/jpeg;base64,")
    assert "(+1 image(s))" in answer
    nothing_of_telegram_in(model, telegram)


async def test_with_vision_a_photo_is_fetched_while_the_person_writes_not_at_batch_time(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    model: OpenAIStandIn,
    redis: Redis,
) -> None:
    """Fetched into the media cache during the window (2 s here): the model call does not
    wait on the download, and the photo is downloaded once."""
    settings = openai_settings(make_settings, model, backend_vision=True, batch_window_seconds=2)
    await product.start(settings)
    sent_at = time.monotonic()
    await telegram.person_says(OLA, photo="AgAD-haircut-ahead", caption="like this?")
    await telegram.wait_for_messages(OLA.id, 1)
    await wait_until_idle(redis)

    [(file_id, downloaded_at)] = telegram.downloads
    [call] = model.calls
    assert file_id == "AgAD-haircut-ahead"
    assert downloaded_at < sent_at + 2.0  # inside the window: before the batch could go
    url = call.body["messages"][-1]["content"][1]["image_url"]["url"]
    assert url.startswith("data:image/jpeg;base64,")
    assert await redis.zcard(MEDIA_QUEUE) == 0


async def test_a_photo_over_the_cache_s_item_cap_is_fetched_when_its_batch_goes(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    model: OpenAIStandIn,
    redis: Redis,
) -> None:
    settings = openai_settings(
        make_settings, model, backend_vision=True, media_cache_item_max_bytes=10
    )
    await product.start(settings)
    sent_at = time.monotonic()
    await telegram.person_says(OLA, photo="AgAD-too-big", caption="and this?")
    await telegram.wait_for_messages(OLA.id, 1)
    await wait_until_idle(redis)

    [(file_id, downloaded_at)] = telegram.downloads  # not ahead (over the cap): once, later
    [call] = model.calls
    assert file_id == "AgAD-too-big"
    assert downloaded_at >= sent_at + 0.5  # when the batch went, a window after the photo
    assert call.body["messages"][-1]["content"][1]["image_url"]["url"].startswith("data:")


async def test_without_vision_a_photo_is_a_placeholder(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    model: OpenAIStandIn,
    redis: Redis,
) -> None:
    await product.start(openai_settings(make_settings, model))
    await telegram.person_says(OLA, photo="AgAD-haircut", caption="like this?")
    await telegram.wait_for_messages(OLA.id, 1)
    await wait_until_idle(redis)
    assert model.calls[0].body["messages"][-1]["content"] == "[photo] like this?"


async def test_a_provider_4xx_is_a_dead_letter_with_its_message(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    model: OpenAIStandIn,
    redis: Redis,
) -> None:
    model.fail_with = (400, "This model's maximum context length is 8192 tokens.")
    settings = openai_settings(make_settings, model)
    await product.start(settings)
    await telegram.person_says(OLA, "a very long story")
    await telegram.wait_for_messages(OLA.id, 1)  # BACKEND_FAILURE_REPLY
    await wait_until_idle(redis)

    [letter] = await DeadLetters(redis, settings.redis_key_ttl_seconds).newest()
    assert "model endpoint answered 400" in letter.reason
    assert "maximum context length is 8192 tokens" in letter.reason
    assert len(model.calls) == 1
    assert json.loads(model.calls[0].raw)["model"] == "barber-7b"
