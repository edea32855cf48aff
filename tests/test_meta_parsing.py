"""Every Messenger Platform event Meta documents for Instagram and Messenger, read from the
documented example payloads in tests/messaging_payloads/; and the Send API's errors
mapped onto the delivery outcomes, against the stand-in over real HTTP."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.intake import StoringIntake, batch_store
from bot.meta_webhook import configured_webhooks
from bot.settings import BotSettings
from channels.base import ChannelSender, Delivery, NotADelivery, Recipient
from channels.instagram.adapter import INSTAGRAM_LIMITS, InstagramAdapter
from channels.instagram.adapter import Settings as InstagramOnly
from channels.messenger.adapter import MESSENGER_LIMITS, MessengerAdapter
from channels.messenger.adapter import Settings as MessengerOnly
from channels.meta.messaging import parse_messaging
from channels.meta.send_api import OUR_METADATA
from channels.meta.signature import SIGNATURE_HEADER, signature_of
from channels.outcomes import CredentialsRefused, RecipientGone, Refused, RetryAfter, Unavailable
from sandbox.redis_server import free_port
from sandbox.send_api import ForcedError, SendApiStandIn, instagram_shape, messenger_shape
from sandbox.whatsapp_api import SANDBOX_APP_SECRET

PAYLOADS = Path(__file__).parent / "messaging_payloads"
INSTAGRAM, MESSENGER = InstagramAdapter.platform(), MessengerAdapter.platform()


def parsed(name: str) -> Delivery:
    platform = INSTAGRAM if name.startswith("instagram") else MESSENGER
    return parse_messaging(platform, (PAYLOADS / f"{name}.json").read_bytes())


def fields(name: str) -> list[dict[str, Any]]:
    """What each message of the payload became, without the unset fields."""
    delivery = parsed(name)
    assert delivery.skipped == 0
    return [m.message.model_dump(exclude_none=True, exclude={"date"}) for m in delivery.messages]


EXPECTED: dict[str, list[dict[str, Any]]] = {
    "instagram_text": [{"kind": "text", "text": "hi, do you have this in blue?"}],
    "instagram_image": [{"kind": "photo"}, {"kind": "photo"}],
    "instagram_story_mention": [{"kind": "other", "content_type": "story_mention"}],
    "instagram_story_reply": [{"kind": "text", "text": "love this look"}],
    "instagram_share": [
        {"kind": "other", "content_type": "share", "caption": "Our new spring collection"}
    ],
    "instagram_reel": [{"kind": "other", "content_type": "ig_reel", "caption": "How we cut a bob"}],
    "instagram_reaction": [{"kind": "reaction", "emoji": "\u2764\ufe0f"}],
    "instagram_postback": [
        {"kind": "interactive", "text": "Book a haircut", "choice_id": "BOOK_HAIRCUT"}
    ],
    "instagram_quick_reply": [
        {"kind": "interactive", "text": "Tomorrow", "choice_id": "DAY_TOMORROW"}
    ],
    "instagram_unsupported": [{"kind": "other", "content_type": "unsupported"}],
    "messenger_text": [{"kind": "text", "text": "hello, world!"}],
    "messenger_attachments": [{"kind": "photo"}, {"kind": "document"}],
    "messenger_audio_video": [{"kind": "audio"}, {"kind": "video"}],
    "messenger_sticker": [{"kind": "sticker"}],
    "messenger_fallback": [
        {"kind": "text", "text": "https://example.com/menu"},
        {"kind": "other", "content_type": "fallback", "caption": "Our menu"},
    ],
    "messenger_fallback_link": [
        {
            "kind": "other",
            "content_type": "fallback",
            "caption": "Book online - Salon Ana",
            "url": "https://example.com/book",
        }
    ],
    "messenger_location": [{"kind": "location", "caption": "Paul's Location"}],
    "messenger_sticker_transition": [{"kind": "sticker", "content_type": "sticker"}],
    "messenger_sticker_type": [
        {
            "kind": "sticker",
            "content_type": "sticker",
            "url": "https://scontent.xx.fbcdn.net/v/t39.1997-6/thumbs_up.png",
        }
    ],
    "instagram_postback_change": [
        {"kind": "interactive", "text": "Book a haircut", "choice_id": "BOOK_HAIRCUT"}
    ],
    "messenger_quick_reply": [
        {
            "kind": "interactive",
            "text": "Red",
            "choice_id": "DEVELOPER_DEFINED_PAYLOAD_FOR_PICKING_RED",
        }
    ],
    "messenger_postback": [
        {"kind": "interactive", "text": "Get Started", "choice_id": "GET_STARTED_PAYLOAD"}
    ],
    "messenger_reaction": [{"kind": "reaction", "emoji": "\U0001f60a"}],
}
NOT_BATCHED = {"instagram_echo", "instagram_deleted", "instagram_read", "messenger_echo",
               "messenger_delivery"}  # fmt: skip


def test_every_documented_payload_says_what_it_becomes() -> None:
    names = {path.stem for path in PAYLOADS.glob("*.json")}
    assert names == set(EXPECTED) | NOT_BATCHED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_documented_event_is_stored_with_what_it_says(name: str) -> None:
    found = fields(name)
    assert len(found) == len(EXPECTED[name])
    for got, expected in zip(found, EXPECTED[name], strict=True):
        assert got.items() >= expected.items(), got


def test_a_body_that_is_not_a_delivery_is_named_in_good_english() -> None:
    with pytest.raises(NotADelivery, match=r"^not an Instagram webhook delivery "):
        parse_messaging(INSTAGRAM, b"{}")
    with pytest.raises(NotADelivery, match=r"^not a Messenger webhook delivery: its object"):
        parse_messaging(MESSENGER, b'{"object": "instagram", "entry": []}')


def test_a_shared_location_keeps_its_coordinates_and_link() -> None:
    [place] = parsed("messenger_location").messages
    assert place.message.location is not None
    assert (place.message.location.latitude, place.message.location.longitude) == (
        37.483872,
        -122.148358,
    )
    assert place.message.url is not None and place.message.url.startswith("https://l.facebook")


def test_a_postback_sent_as_a_change_is_the_same_message_as_one_sent_as_messaging() -> None:
    """Instagram delivers some postbacks as ``changes`` (field ``messaging_postbacks``),
    with the timestamp in seconds as a string: same conversation, same time."""
    [change] = parsed("instagram_postback_change").messages
    [event] = parsed("instagram_postback").messages
    assert change.author.conversation == event.author.conversation
    assert change.message.date == event.message.date


def test_conversations_ids_and_references() -> None:
    [ivy] = parsed("instagram_text").messages
    assert ivy.author.conversation == "ig:17841400000000001:6100000000000001"
    assert ivy.account == "17841400000000001"
    [paul] = parsed("messenger_text").messages
    assert paul.author.conversation == "fb:104000000000001:7200000000000001"
    assert paul.message.reply_to_message_id == "m_earlier_message_of_this_conversation"
    first, second = parsed("instagram_image").messages
    assert second.message.message_id == f"{first.message.message_id}/2"
    assert first.message.media_group_id == first.message.message_id
    assert second.message.url is not None and "asset_id=1790002" in second.message.url
    [story] = parsed("instagram_story_reply").messages
    assert story.message.data == {
        "reply_to_story": {
            "id": "17900000000000004",
            "url": "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1790004&signature=jkl",
        }
    }
    [reaction] = parsed("instagram_reaction").messages
    assert reaction.message.reply_to_message_id == "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQx"


def test_echoes_deletions_and_receipts_are_not_messages() -> None:
    """Meta's documented echoes carry no metadata of batchbot's: a person of the business
    wrote them (a takeover). The bot's own echo carries its metadata: only counted."""
    expected = {
        "instagram_echo": ("ig:17841400000000001:6100000000000001", "Yes, we have it in blue"),
        "messenger_echo": ("fb:104000000000001:7200000000000001", "We open at 9"),
    }
    for name, (conversation, said) in expected.items():
        delivery = parsed(name)
        assert (delivery.messages, delivery.echoes) == ([], 0)
        [reply] = delivery.human_replies
        assert (reply.conversation, reply.said) == (conversation, said)
        raw = json.loads((PAYLOADS / f"{name}.json").read_text())
        raw["entry"][0]["messaging"][0]["message"]["metadata"] = OUR_METADATA
        platform = INSTAGRAM if name.startswith("instagram") else MESSENGER
        ours = parse_messaging(platform, json.dumps(raw).encode())
        assert (ours.messages, ours.human_replies, ours.echoes) == ([], [], 1)
    deleted = parsed("instagram_deleted")
    assert deleted.messages == []
    [removal] = deleted.removals
    assert removal.message_id == "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQx"
    assert removal.conversation == "ig:17841400000000001:6100000000000001"
    for name in ("instagram_read", "messenger_delivery"):
        delivery = parsed(name)
        assert (delivery.messages, delivery.skipped, delivery.echoes) == ([], 0, 0)


def test_an_event_that_cannot_be_read_is_skipped_with_its_mid_and_field(
    caplog: pytest.LogCaptureFixture,
) -> None:
    raw = (PAYLOADS / "messenger_postback.json").read_text().replace('"payload"', '"not_it"')
    with caplog.at_level(logging.WARNING, "batchbot.meta"):
        delivery = parse_messaging(MESSENGER, raw.encode())
    assert (delivery.messages, delivery.skipped) == ([], 1)
    assert "could not be read and was skipped: payload: missing" in caplog.text


@pytest.fixture(params=["instagram", "messenger"])
async def account(request: pytest.FixtureRequest) -> AsyncIterator[SendApiStandIn]:
    """Instagram's or Messenger's Send API stand-in."""
    shape = instagram_shape() if request.param == "instagram" else messenger_shape()
    stand_in = SendApiStandIn(shape)
    await stand_in.start()
    yield stand_in
    await stand_in.stop()


def _sender_for(stand_in: SendApiStandIn) -> ChannelSender:
    """The channel's own sender, from its adapter, pointed at the stand-in."""
    if stand_in.shape.channel == "instagram":
        settings = InstagramOnly(
            instagram_access_token=stand_in.shape.access_token,
            instagram_api_url=stand_in.api_url,
            instagram_account_id=stand_in.shape.account,
        )
        return InstagramAdapter(settings).make_sender(4.0)
    only = MessengerOnly(
        messenger_page_access_token=stand_in.shape.access_token,
        messenger_api_url=stand_in.api_url,
        messenger_page_id=stand_in.shape.account,
    )
    return MessengerAdapter(only).make_sender(4.0)


ERRORS = [
    (ForcedError(400, 10, "This message is sent outside of allowed window.", 2018278),
     RecipientGone, "24-hour messaging window is closed"),
    (ForcedError(400, 551, "This person isn't available right now."), RecipientGone,
     "cannot be reached"),
    (ForcedError(400, 100, "No matching user found", 2018001), RecipientGone, "cannot be reached"),
    (ForcedError(400, 613, "Calls to this api have exceeded the rate limit."), Unavailable,
     "rate limit"),
    (ForcedError(429, 4, "Application request limit reached"), Unavailable, "rate limit"),
    (ForcedError(500, 2, "An unexpected error has occurred. Please retry your request later."),
     Unavailable, "unavailable"),
    (ForcedError(401, 190, "Invalid OAuth access token."), CredentialsRefused, "refused"),
    (ForcedError(400, 100, "Invalid parameter"), Refused, "refused it"),
]  # fmt: skip
TOKENS = {"instagram": "INSTAGRAM_ACCESS_TOKEN", "messenger": "MESSENGER_PAGE_ACCESS_TOKEN"}


@pytest.mark.parametrize(("error", "outcome", "said"), ERRORS)
async def test_send_api_errors_map_onto_the_delivery_outcomes(
    account: SendApiStandIn, error: ForcedError, outcome: type[Exception], said: str
) -> None:
    channel = account.shape.channel
    sender = _sender_for(account)
    prefix = "ig" if channel == "instagram" else "fb"
    to = Recipient(f"{prefix}:{account.shape.account}:7200000000000001")
    account.fail_next(error)
    try:
        with pytest.raises(outcome) as raised:
            await sender.send_text(to, "hello", None, None)
        assert said in str(raised.value)
        if outcome is CredentialsRefused:  # the setting to fix is named
            assert TOKENS[channel] in str(raised.value)
        assert not isinstance(raised.value, RetryAfter)
        await sender.send_text(to, "hello again", None, None)  # the next one goes through
    finally:
        await sender.aclose()
    assert account.messages_to("7200000000000001") == ["hello again"]
    limits = INSTAGRAM_LIMITS if channel == "instagram" else MESSENGER_LIMITS
    assert (sender.channel.value, sender.limits) == (channel, limits)


def test_several_entries_and_events_of_one_delivery_are_read_in_order() -> None:
    """Meta batches: one delivery may hold several entries (accounts), each several events."""
    first, second = (
        json.loads((PAYLOADS / f"{name}.json").read_text())["entry"][0]
        for name in ("messenger_text", "messenger_postback")
    )
    other_page = {**second, "id": "104000000000009"}
    delivery = {"object": "page", "entry": [first, other_page]}
    parsed_both = parse_messaging(MESSENGER, json.dumps(delivery).encode())
    assert [(m.account, m.message.kind.value) for m in parsed_both.messages] == [
        ("104000000000001", "text"),
        ("104000000000009", "interactive"),
    ]


async def test_a_delivery_redis_does_not_take_in_time_is_answered_503() -> None:
    """200 only once stored: with Redis away past WEBHOOK_STORE_TIMEOUT_SECONDS, 503 so
    that Meta delivers again."""
    settings = BotSettings(
        redis_url=f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
        messenger_page_access_token="EAAG-page-token",
        messenger_page_id="104000000000001",
        meta_app_secret=SANDBOX_APP_SECRET,
        meta_verify_token="verify-token",
        webhook_store_timeout_seconds=0.5,
    )
    redis = Redis.from_url(settings.redis_url, socket_connect_timeout=0.2)
    [webhook] = configured_webhooks(
        StoringIntake.of(batch_store(redis, settings), settings), settings
    )
    body = (PAYLOADS / "messenger_text.json").read_bytes()
    try:
        answer = await webhook.take(
            body, {SIGNATURE_HEADER: signature_of(SANDBOX_APP_SECRET, body)}
        )
    finally:
        await redis.aclose()
    assert answer.status == 503 and "deliver it again" in (answer.text or "")
