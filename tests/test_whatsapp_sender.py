"""The WhatsApp sender's pure parts: what each Graph API error means for delivery, and
Telegram markup taken out. (Sending itself is shown end to end in test_whatsapp.py.)"""

from __future__ import annotations

import httpx
import pytest

from channels.markup import plain_text
from channels.outcomes import (
    CredentialsRefused,
    DeliveryFailed,
    RecipientGone,
    Refused,
    RetryAfter,
    Unavailable,
)
from channels.whatsapp.sender import outcome_of
from sandbox.whatsapp_wire import graph_error


def response(
    status: int, code: int | None, headers: dict[str, str] | None = None
) -> httpx.Response:
    body = graph_error(code, "said by Meta") if code is not None else {"unexpected": True}
    return httpx.Response(status, json=body, headers=headers)


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (400, 131047, RecipientGone),  # the 24-hour window closed
        (400, 131026, RecipientGone),  # undeliverable
        (400, 131030, RecipientGone),  # not on the test number's allowed list
        (401, 190, CredentialsRefused),
        (400, 190, CredentialsRefused),
        (401, None, CredentialsRefused),
        (429, 130429, Unavailable),  # rate limit without Retry-After: back-off
        (400, 131056, Unavailable),  # pair rate limit
        (500, 131000, Unavailable),
        (503, None, Unavailable),
        (400, 131009, Refused),  # a parameter Meta refuses: skip the part
        (404, None, Refused),
    ],
)
def test_each_graph_error_maps_onto_one_outcome(
    status: int, code: int | None, expected: type[DeliveryFailed]
) -> None:
    outcome = outcome_of(response(status, code))
    assert type(outcome) is expected
    assert str(code or status) in str(outcome)


def test_a_rate_limit_with_retry_after_waits_that_long() -> None:
    outcome = outcome_of(response(429, 130429, {"Retry-After": "7"}))
    assert isinstance(outcome, RetryAfter) and outcome.seconds == 7


def test_the_closed_window_says_what_can_still_reach_the_person() -> None:
    assert "only a template message" in str(outcome_of(response(400, 131047)))


def test_a_body_that_is_not_json_still_maps_by_status() -> None:
    assert isinstance(outcome_of(httpx.Response(502, text="<html>bad gateway</html>")), Unavailable)


@pytest.mark.parametrize(
    ("text", "mode", "plain"),
    [
        ("<b>Tuesday</b> at 5 &amp; 6", "HTML", "Tuesday at 5 & 6"),
        (r"Price: 5\.00\! \(incl\. tax\)", "MarkdownV2", "Price: 5.00! (incl. tax)"),
        ("*bold* stays for WhatsApp", None, "*bold* stays for WhatsApp"),
    ],
)
def test_telegram_markup_is_taken_out(text: str, mode: str | None, plain: str) -> None:
    assert plain_text(text, mode) == plain
