"""Every message type Meta documents for WhatsApp's messages webhook, as a business receives
it: each example delivery (``tests/whatsapp_payloads/``, written from Meta's webhook
reference) is stored as the contract's message or left out on purpose, never dropped as
unreadable. The whole path (signed delivery, bot, worker, backend) is shown for a Flow's
answers in ``test_whatsapp.py``."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from backend_client import OpenAIChatClient
from channels.whatsapp import parse_delivery
from sandbox.openai_api import OpenAIStandIn
from shared.models import (
    BatchRequest,
    Channel,
    Chat,
    IncomingMessage,
    Order,
    OrderItem,
    ProductRef,
    Referral,
    User,
)

PAYLOADS = Path(__file__).parent / "whatsapp_payloads"

EXPECTED: dict[str, dict[str, Any]] = {
    "text": {"kind": "text", "text": "Does it come in another color?"},
    "text_reply": {
        "kind": "text",
        "reply_to_message_id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA",
    },
    "text_forwarded": {"kind": "text", "forwarded": True, "frequently_forwarded": None},
    "text_frequently_forwarded": {"kind": "text", "forwarded": True, "frequently_forwarded": True},
    "text_product_enquiry": {
        "kind": "text",
        "text": "Is this in stock?",
        "product": ProductRef(catalog_id="194836987003835", product_id="di9ozbzfi4"),
    },
    "text_from_an_ad": {
        "kind": "text",
        "referral": Referral(
            source_type="ad",
            source_id="120226305854810726",
            source_url="https://fb.me/3cr4Wqqkv",
            headline="Chat with us",
            body="We have the best hair cuts in town",
            ctwa_clid="ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0HR4irJ6LEkR7JwFF4Xvn"
            "O2E4Nx0-eM-GABDLOPaOdRMv-_zfUQ2a",
        ),
    },
    "image": {"kind": "photo", "file_id": "1003383421387256", "caption": "This is the one"},
    "sticker": {"kind": "sticker", "file_id": "1228791818178926", "mime_type": "image/webp"},
    "audio_voice": {"kind": "voice", "file_id": "1003383421387257"},
    "video": {"kind": "video", "file_id": "1003383421387258", "caption": "How it looks"},
    "document": {"kind": "document", "file_name": "booking.pdf", "caption": "My booking"},
    "location": {"kind": "location"},
    "contacts": {"kind": "contact"},
    "reaction": {"kind": "reaction", "emoji": "\U0001f44d"},
    "interactive_button_reply": {
        "kind": "interactive",
        "text": "Cancel appointment",
        "choice_id": "cancel-appointment",
    },
    "interactive_list_reply": {
        "kind": "interactive",
        "text": "Express",
        "choice_id": "priority_express",
    },
    "interactive_flow_reply": {
        "kind": "interactive",
        "text": "Sent",
        "content_type": "nfm_reply:flow",
        "data": {
            "flow_token": "booking-1234",
            "service": "haircut",
            "date": "2026-12-03",
            "time": "17:00",
        },
    },
    "interactive_address_reply": {
        "kind": "interactive",
        "text": None,
        "content_type": "nfm_reply:address_message",
    },
    "button": {"kind": "interactive", "text": "Confirm", "choice_id": "Confirm my booking"},
    "order": {
        "kind": "order",
        "text": "Please deliver before 5",
        "order": Order(
            catalog_id="194836987003835",
            items=[
                OrderItem(product_id="di9ozbzfi4", quantity=2, item_price=30, currency="USD"),
                OrderItem(product_id="nqryix03ez", quantity=1, item_price=25, currency="USD"),
            ],
        ),
    },
    "unsupported": {
        "kind": "other",
        "content_type": "unsupported:edit",
        "text": "Message type unknown",
    },
    "unknown": {"kind": "other", "content_type": "unknown", "text": "Unsupported message type"},
    # An interactive Meta could not read: no body, the reason in the change's own errors.
    "interactive_unreadable": {
        "kind": "other",
        "content_type": "unsupported:interactive",
        "text": "Something went wrong",
    },
}
LEFT_OUT_ON_PURPOSE = {"system": "system", "request_welcome": "request_welcome"}
TAKEOVERS = {"smb_message_echoes"}
"""What the business wrote from the WhatsApp Business app (coexistence)."""


def test_every_documented_example_is_expected_here() -> None:
    """A payload added under tests/whatsapp_payloads/ must say what it becomes."""
    names = {path.stem for path in PAYLOADS.glob("*.json")}
    assert names == set(EXPECTED) | set(LEFT_OUT_ON_PURPOSE) | TAKEOVERS


def test_a_message_the_business_sent_from_the_app_is_a_takeover_not_a_message() -> None:
    """``to`` is the number as the app wrote it (+16505551234): the conversation is the
    customer's (wa_id 16505551234), the same one their own messages are in."""
    parsed = parse_delivery((PAYLOADS / "smb_message_echoes.json").read_bytes())
    assert (parsed.messages, parsed.skipped) == ([], 0)
    [reply] = parsed.human_replies
    assert reply.account == "106540352242922"
    assert reply.conversation == "wa:106540352242922:16505551234"
    assert reply.said == "Here's the info you requested! https://www.meta.com/quest/quest-3/"


def _the_one_message(name: str) -> IncomingMessage:
    parsed = parse_delivery((PAYLOADS / f"{name}.json").read_bytes())
    assert parsed.skipped == 0
    [inbound] = parsed.messages
    assert inbound.author.conversation == "wa:106540352242922:16505551234"
    assert inbound.author.user.first_name == "Sheena Nelson"
    return inbound.message


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_documented_message_type_is_stored_with_what_it_says(name: str) -> None:
    message = _the_one_message(name)
    raw = json.loads((PAYLOADS / f"{name}.json").read_text())
    assert message.message_id == raw["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    for field, expected in EXPECTED[name].items():
        got = getattr(message, field)
        assert (got.value if hasattr(got, "value") else got) == expected, field


def test_the_location_and_the_contact_card_keep_their_details() -> None:
    place = _the_one_message("location").location
    assert place is not None and place.name == "Main office"
    assert place.address == "1 Hacker Way, Menlo Park, CA 94025"
    card = _the_one_message("contacts").contact
    assert card is not None
    assert (card.first_name, card.last_name, card.phone_number) == (
        "Barbara",
        "Johnson",
        "+1 (415) 555-0123",
    )


def test_an_address_form_keeps_its_answers_as_data() -> None:
    data = _the_one_message("interactive_address_reply").data
    assert data is not None and data["values"]["city"] == "Mumbai"


@pytest.mark.parametrize("name", sorted(LEFT_OUT_ON_PURPOSE))
def test_notices_that_no_person_wrote_are_left_out_on_purpose_and_logged(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, "batchbot.whatsapp"):
        parsed = parse_delivery((PAYLOADS / f"{name}.json").read_bytes())
    assert parsed.messages == [] and parsed.skipped == 1
    [line] = caplog.records
    assert line.levelno == logging.INFO
    assert "left out on purpose" in line.getMessage() and name in line.getMessage()
    assert "wamid.HBgL" in line.getMessage()


@pytest.mark.parametrize(
    ("name", "breaking", "said"),
    [
        ("text", lambda m: m["text"].pop("body"), "text.body is missing"),
        ("image", lambda m: m["image"].pop("id"), "image.id is missing"),
        (
            "interactive_flow_reply",
            lambda m: m["interactive"]["nfm_reply"].update(response_json="{not json"),
            "interactive.nfm_reply.response_json is not JSON",
        ),
        ("interactive_list_reply", lambda m: m.pop("interactive"), "interactive is missing"),
        ("order", lambda m: m["order"].pop("catalog_id"), "order.catalog_id is missing"),
        ("reaction", lambda m: m["reaction"].pop("message_id"), "reaction.message_id is missing"),
    ],
)
def test_a_message_that_cannot_be_read_is_logged_with_its_wamid_and_the_missing_field(
    name: str, breaking: Any, said: str, caplog: pytest.LogCaptureFixture
) -> None:
    delivery = json.loads((PAYLOADS / f"{name}.json").read_text())
    message = delivery["entry"][0]["changes"][0]["value"]["messages"][0]
    breaking(message)
    with caplog.at_level(logging.WARNING, "batchbot.whatsapp"):
        parsed = parse_delivery(json.dumps(delivery).encode())
    assert parsed.messages == [] and parsed.skipped == 1
    [line] = caplog.records
    assert message["id"] in line.getMessage() and said in line.getMessage()
    assert "Error" not in line.getMessage()  # never a bare exception name


async def test_a_model_reads_a_forms_answers_and_an_orders_cart(model: OpenAIStandIn) -> None:
    """In OpenAI mode the model is asked over HTTP (the stand-in) with what the person
    filled in and ordered, not an empty line."""
    messages = [_the_one_message(name) for name in ("interactive_flow_reply", "order")]
    request = BatchRequest.build(
        "b-1",
        Chat(id="16505551234", type="private"),
        User(id="16505551234", first_name="Sheena Nelson"),
        messages,
        channel=Channel.WHATSAPP,
    )
    client = OpenAIChatClient(model.url, 5.0, model="barber-7b")
    try:
        await client.answer(request)
    finally:
        await client.aclose()
    [call] = model.calls
    assert call.body["messages"][-1]["content"] == (
        'Sent [form: {"flow_token": "booking-1234", "service": "haircut", '
        '"date": "2026-12-03", "time": "17:00"}]\n'
        "[order: 2 x di9ozbzfi4, 1 x nqryix03ez] Please deliver before 5"
    )
