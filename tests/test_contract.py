"""The published contract, arq's key layout and configuration errors."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from bot.settings import BotSettings
from shared.models import BatchRequest, Channel, Chat, IncomingMessage, MessageKind, User, to_json
from shared.schema import SCHEMA_DIR, SCHEMAS, render
from shared.settings import ConfigError, load_settings


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_published_schema_matches_the_models(name: str) -> None:
    published = (SCHEMA_DIR / name).read_text()
    assert published == render(SCHEMAS[name]), "run: python -m shared.schema"


def test_request_json_has_the_contract_shape() -> None:
    at = datetime(2026, 11, 22, 10, 0, 1, tzinfo=UTC)
    request = BatchRequest.build(
        batch_id="b1",
        chat=Chat(id=123, type="private"),
        user=User(id=123, first_name="Ana", username="ana", language_code="es"),
        messages=[
            IncomingMessage(
                message_id=42, date=at, kind=MessageKind.PHOTO, caption="mira", file_id="AgAC"
            ),
            IncomingMessage(message_id=41, date=at, kind=MessageKind.TEXT, text="hola"),
        ],
    )
    assert to_json(request) == (
        '{"batch_id":"b1","channel":"telegram","chat":{"id":123,"type":"private"},'
        '"user":{"id":123,"first_name":"Ana","username":"ana","language_code":"es"},'
        '"messages":[{"message_id":41,"date":"2026-11-22T10:00:01Z","kind":"text","text":"hola"},'
        '{"message_id":42,"date":"2026-11-22T10:00:01Z","kind":"photo","caption":"mira",'
        '"file_id":"AgAC"}],"text":"hola\\nmira"}'
    )


def test_a_whatsapp_request_names_its_channel_and_keeps_the_wamids() -> None:
    """WhatsApp's ids are strings and its batches go by timestamp, then arrival."""
    early, late = (datetime(2026, 11, 22, 10, 0, s, tzinfo=UTC) for s in (1, 2))
    request = BatchRequest.build(
        batch_id="b2",
        chat=Chat(id="14155550101", type="private"),
        user=User(id="14155550101", first_name="Ana"),
        messages=[
            IncomingMessage(message_id="wamid.C", date=late, kind=MessageKind.TEXT, text="c"),
            IncomingMessage(message_id="wamid.B", date=early, kind=MessageKind.TEXT, text="b"),
            IncomingMessage(message_id="wamid.A", date=early, kind=MessageKind.TEXT, text="a"),
        ],
        channel=Channel.WHATSAPP,
    )
    assert to_json(request).startswith(
        '{"batch_id":"b2","channel":"whatsapp","chat":{"id":"14155550101","type":"private"},'
    )
    assert [m.message_id for m in request.messages] == ["wamid.B", "wamid.A", "wamid.C"]
    assert request.text == "b\na\nc"


def test_a_bad_setting_is_named_with_what_was_wrong(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", "123:abc")
    monkeypatch.setenv("BATCH_WINDOW_SECONDS", "-1")
    monkeypatch.setenv("BATCH_MAX_MESSAGES", "lots")
    with pytest.raises(ConfigError) as raised:
        load_settings(BotSettings)
    message = str(raised.value)
    assert "BATCH_WINDOW_SECONDS: Input should be greater than 0 (got '-1')" in message
    assert "BATCH_MAX_MESSAGES" in message


def test_max_wait_shorter_than_the_window_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", "123:abc")
    monkeypatch.setenv("BATCH_WINDOW_SECONDS", "30")
    monkeypatch.setenv("BATCH_MAX_WAIT_SECONDS", "5")
    with pytest.raises(ConfigError, match="BATCH_MAX_WAIT_SECONDS \\(5\\) must be at least"):
        load_settings(BotSettings)


@pytest.mark.parametrize(
    ("command", "problem"),
    [
        (
            [sys.executable, "-m", "bot"],
            "no channel is configured: set BOT_TOKEN for Telegram, WHATSAPP_ACCESS_TOKEN for "
            "WhatsApp, INSTAGRAM_ACCESS_TOKEN for Instagram, MESSENGER_PAGE_ACCESS_TOKEN for "
            "Messenger, or several",
        ),
        ([sys.executable, "-m", "worker"], "BACKEND_URL: Field required"),
    ],
)
def test_processes_refuse_to_start_without_required_settings(
    command: list[str], problem: str
) -> None:
    unset = ("BOT_TOKEN", "WHATSAPP_ACCESS_TOKEN", "BACKEND_URL")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    if "BACKEND_URL" in problem:
        env["BOT_TOKEN"] = "123:abc"
    finished = subprocess.run(
        command, check=False, env=env, capture_output=True, text=True, timeout=60
    )
    assert finished.returncode != 0
    assert problem in finished.stderr
    assert "Traceback" not in finished.stderr
