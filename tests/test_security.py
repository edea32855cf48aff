"""Backend request signing as the README documents it, and secrets cut out of log lines."""

from __future__ import annotations

import inspect
import json
import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from backend_client import SIGNATURE_HEADER, TIMESTAMP_HEADER, BackendClient
from sandbox import example_backend
from sandbox.example_backend import ExampleBackend
from shared.logs import REDACTED, JsonFormatter, RedactingFormatter, TextFormatter, secrets_of
from shared.models import BatchRequest, Chat, IncomingMessage, MessageKind, User
from worker.settings import WorkerProcessSettings

README = Path(__file__).resolve().parent.parent / "README.md"
SECRET = "a-long-signing-secret-for-tests"

Verifier = Callable[..., bool]


def readme_verifier() -> tuple[str, Verifier]:
    """The Python block of the README that defines ``verify_batchbot_signature``, run."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    [source] = [block for block in blocks if "def verify_batchbot_signature" in block]
    namespace: dict[str, Any] = {}
    exec(source, namespace)  # the documented snippet, exactly as a reader copies it
    verifier: Verifier = namespace["verify_batchbot_signature"]
    return source, verifier


def a_request() -> BatchRequest:
    return BatchRequest.build(
        batch_id="b-1",
        chat=Chat(id=5, type="private"),
        user=User(id=5, first_name="Eve"),
        messages=[
            IncomingMessage(
                message_id=1,
                date=datetime.now(UTC),
                kind=MessageKind.TEXT,
                text="héllo",
            )
        ],
    )


def test_the_readme_snippet_is_the_check_the_example_backend_runs() -> None:
    source, _ = readme_verifier()
    assert inspect.getsource(example_backend.verify_batchbot_signature) in source


async def test_a_signed_request_verifies_with_the_readme_snippet_and_nothing_else() -> None:
    backend = ExampleBackend(signing_secret=SECRET, bearer_token="t0ken")
    await backend.start()
    client = BackendClient(backend.url, 5, bearer_token="t0ken", signing_secret=SECRET)
    try:
        answer = await client.answer(a_request())
    finally:
        await client.aclose()
        await backend.stop()
    assert answer.messages, "the backend checked the signature and answered"
    [sent] = backend.raw_requests
    timestamp, signature = sent.headers[TIMESTAMP_HEADER], sent.headers[SIGNATURE_HEADER]
    assert sent.headers["Authorization"] == "Bearer t0ken"

    _, verify = readme_verifier()
    assert verify(SECRET, timestamp, signature, sent.body)
    changed = sent.body.replace(b'"Eve"', b'"Mal"')
    assert changed != sent.body
    assert not verify(SECRET, timestamp, signature, changed)
    assert not verify("another-secret-entirely", timestamp, signature, sent.body)
    assert not verify(SECRET, str(int(timestamp) + 1), signature, sent.body)
    stale = str(int(time.time()) - 3600)
    assert not verify(SECRET, stale, signature, sent.body)
    assert not verify(SECRET, "", "", sent.body)


async def test_the_example_backend_refuses_unsigned_and_wrongly_signed_requests() -> None:
    backend = ExampleBackend(signing_secret=SECRET)
    await backend.start()
    unsigned = BackendClient(backend.url, 5)
    wrong = BackendClient(backend.url, 5, signing_secret="not-the-secret-at-all")
    try:
        for client in (unsigned, wrong):
            with pytest.raises(Exception, match="backend answered 401"):
                await client.answer(a_request())
    finally:
        await unsigned.aclose()
        await wrong.aclose()
        await backend.stop()
    assert backend.refused_unauthenticated == 2
    assert backend.calls == []


def record(message: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc else None
    return logging.LogRecord("t", logging.ERROR, __file__, 1, message, args, exc_info)


def test_secrets_are_cut_from_messages_arguments_and_tracebacks() -> None:
    settings = WorkerProcessSettings(
        bot_token="123456:SECRET-bot-token",
        redis_url="redis://user:redis-pass-word@db:6379/0",
        backend_url="http://backend/batch",
        backend_bearer_token="bearer-value-1",
        backend_signing_secret="signing-value-1234567",
    )
    secrets = secrets_of(settings)
    assert set(secrets) == {
        "123456:SECRET-bot-token",
        "redis-pass-word",
        "bearer-value-1",
        "signing-value-1234567",
    }
    try:
        raise RuntimeError("POST https://api.telegram.org/bot123456:SECRET-bot-token/sendMessage")
    except RuntimeError as error:
        failed = error
    for inner in (TextFormatter(), JsonFormatter()):
        formatter = RedactingFormatter(inner, secrets)
        line = formatter.format(
            record("connect %s with %s", "redis://user:redis-pass-word@db", "bearer-value-1")
        )
        traced = formatter.format(record("send failed", exc=failed))
        for text in (line, traced):
            assert not [secret for secret in secrets if secret in text]
        assert REDACTED in line and REDACTED in traced
    assert json.loads(RedactingFormatter(JsonFormatter(), secrets).format(record("x")))
