"""How an answer reaches the person: paced parts with 'typing…', long text split well."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st
from redis.asyncio import Redis

from sandbox.example_backend import ExampleBackend
from sandbox.telegram_api import ForcedError, Person, TelegramStandIn
from shared.models import BatchRequest, BatchResponse, OutgoingMessage
from tests.conftest import Product, SettingsFactory, wait_until_idle
from worker.reply_parts import TEXT_LIMIT, split_text

JO = Person(id=5105, first_name="Jo")
PARTS = ["Sure!", "Tomorrow at 10 works: " + "x" * 8, "See you then. " + "y" * 200]


async def three_parts(request: BatchRequest) -> BatchResponse:
    return BatchResponse(messages=[OutgoingMessage(text=text) for text in PARTS])


async def test_a_three_part_answer_is_paced_in_order_with_typing_before_each_part(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    backend.answerer = three_parts
    settings = make_settings(reply_pacing_seconds_per_character=0.01, reply_pacing_max_seconds=1.5)
    await product.start(settings)
    await telegram.person_says(JO, "can I come tomorrow?")
    assert await telegram.wait_for_messages(JO.id, 3) == PARTS
    await wait_until_idle(redis)

    sent = telegram.sent
    for before, after in itertools.pairwise(sent):
        # 'typing…' showed between the two parts, for as long as the pacing says
        typing = [a for a in telegram.chat_actions if before.at < a.at < after.at]
        assert [a.action for a in typing] == ["typing"]
        expected = min(1.5, 0.01 * len(after.text))
        assert after.at - typing[0].at >= expected
    assert sent[2].at - sent[1].at >= 1.5  # 214 characters: the cap, not 2.14 s


async def test_typing_shows_all_the_while_the_backend_works_even_when_it_fails(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
) -> None:
    backend.delay_seconds = 2.5
    telegram.fail_next("sendChatAction", ForcedError(500, "Internal Server Error"))
    # "typing…" rather than Telegram's "Thinking…" draft, which would stand in for it.
    settings = make_settings(typing_refresh_seconds=1.0, draft_thinking=False)
    await product.start(settings)
    await telegram.person_says(JO, "thinking question")
    [reply] = await telegram.wait_for_messages(JO.id, 1)
    assert "thinking question" in reply
    [call] = backend.calls
    during = [a for a in telegram.chat_actions if a.at <= call.finished_at]
    # The first refresh failed (500) and was recorded as nothing; the answer still came,
    # and 'typing…' was sent again about every second while the backend took 2.5 s.
    assert len(during) >= 2


async def test_a_10000_character_answer_arrives_as_3_messages_in_order(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
) -> None:
    paragraphs = [f"Paragraph {n}. " + "All good here. " * 45 for n in range(15)]
    long_text = "\n\n".join(p.strip() for p in paragraphs)
    assert 10_000 <= len(long_text) <= 10_500

    async def essay(request: BatchRequest) -> BatchResponse:
        return BatchResponse(messages=[OutgoingMessage(text=long_text)])

    backend.answerer = essay
    settings = make_settings(reply_pacing_max_seconds=0)
    await product.start(settings)
    await telegram.person_says(JO, "tell me everything")
    replies = await telegram.wait_for_messages(JO.id, 3)
    assert len(replies) == 3
    assert all(len(part) <= TEXT_LIMIT for part in replies)
    assert "\n\n".join(replies) == long_text  # cut at paragraph breaks, nothing lost


@given(st.text(alphabet=st.sampled_from("ab .!?\n,;"), max_size=3000))
def test_split_text_keeps_every_character_in_order_within_the_limit(text: str) -> None:
    parts = split_text(text, limit=200)
    assert all(0 < len(part) <= 200 for part in parts)
    # Only whitespace at a cut is dropped: every other character stays, in order.
    assert "".join("".join(parts).split()) == "".join(text.split())


async def test_a_photo_with_a_long_caption_replies_where_the_backend_says(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    caption = "This is the blue one. " * 70  # 1,540 characters: over the 1,024 a caption takes
    asked = await telegram.person_says(JO, "which one is blue?")

    async def with_a_photo(request: BatchRequest) -> BatchResponse:
        return BatchResponse(
            messages=[
                OutgoingMessage(
                    photo="https://example.com/blue.jpg",
                    text=caption,
                    reply_to_message_id=request.messages[0].message_id,
                ),
                OutgoingMessage(photo="AgACfileid"),
                OutgoingMessage(text="Anything else?"),
            ]
        )

    backend.answerer = with_a_photo
    settings = make_settings(reply_pacing_max_seconds=0)
    await product.start(settings)
    await telegram.wait_for_messages(JO.id, 4)
    await wait_until_idle(redis)

    first, rest, bare, last = telegram.sent
    assert (first.photo, first.reply_to) == (
        "https://example.com/blue.jpg",
        asked["message"]["message_id"],
    )
    assert len(first.text) <= 1024 and first.text.endswith(".")
    assert (rest.photo, rest.reply_to) == (None, None)
    assert f"{first.text} {rest.text}".split() == caption.split()
    assert (bare.photo, bare.text) == ("AgACfileid", "")
    assert (last.photo, last.text) == (None, "Anything else?")


async def test_replies_and_forwards_reach_the_backend_marked(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    settings = make_settings()
    await product.start(settings)
    first = await telegram.person_says(JO, "my order number is 42")
    await telegram.person_says(JO, "about this", reply_to=first["message"]["message_id"])
    await telegram.person_says(JO, "look what my friend sent", forwarded_from="Sam")
    await telegram.wait_for_messages(JO.id, 1)
    await wait_until_idle(redis)
    [batch] = backend.received
    assert [(m.reply_to_message_id, m.forwarded) for m in batch.messages] == [
        (None, None),
        (first["message"]["message_id"], None),
        (None, True),
    ]
