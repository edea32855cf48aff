"""Start-up errors a new user meets, each one line naming the real setting, exit code 1,
never a traceback: a refused BOT_TOKEN or an unreachable TELEGRAM_API_URL (polling and
webhook mode), every setting's wrong value (the variable's own name, what a good value
looks like), a value wrong for another process of the same deployment, WEBHOOK_SECRET's
refused characters, and BACKEND_URL given as a base in OpenAI mode."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import types
import typing
from collections.abc import AsyncIterator, Iterator

import pytest
from pydantic import HttpUrl

from backend_client import OpenAIChatClient, PermanentBackendError
from config.bot import BotSettings
from config.worker import WorkerProcessSettings
from sandbox.openai_api import OpenAIStandIn
from sandbox.redis_server import RedisServer, free_port
from sandbox.telegram_api import TelegramStandIn
from shared.models import BatchRequest, Chat, IncomingMessage, MessageKind, User
from shared.settings import ConfigError, load_settings

TOKEN = "123456:sandbox-token"


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """An environment with no batchbot settings but a bot token and a backend."""
    every = set(BotSettings.model_fields) | set(WorkerProcessSettings.model_fields)
    for name in every:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    monkeypatch.setenv("BACKEND_URL", "http://backend:8000/webhook/batch")
    yield monkeypatch


def refusal(settings_class: type[BotSettings] | type[WorkerProcessSettings]) -> str:
    other = WorkerProcessSettings if settings_class is BotSettings else BotSettings
    with pytest.raises(ConfigError) as refused:
        load_settings(settings_class, also_check=[other])
    return str(refused.value)


def problem_lines(text: str) -> list[str]:
    """Each mistake is one whole line of its own (a log collector keeps lines)."""
    lines = text.splitlines()
    assert all(line.startswith("batchbot cannot start: ") for line in lines), text
    return [line.removeprefix("batchbot cannot start: ") for line in lines]


def bad_value_for(annotation: object) -> str | None:
    """A value of the wrong kind for a setting's type, or None where any text will do."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        return bad_value_for(inner[0]) if len(inner) == 1 else None
    if typing.get_origin(annotation) is typing.Annotated:
        return bad_value_for(typing.get_args(annotation)[0])
    if annotation in (int, float):
        return "ten"
    if annotation is bool:
        return "maybe"
    if annotation is HttpUrl:
        return "not a url"
    if typing.get_origin(annotation) is typing.Literal:
        return "nonsense"
    if typing.get_origin(annotation) is dict:
        return "photo=20"
    return None


@pytest.mark.parametrize("settings_class", [BotSettings, WorkerProcessSettings])
def test_every_wrong_value_names_its_own_variable_and_a_good_value(
    clean_environment: pytest.MonkeyPatch,
    settings_class: type[BotSettings] | type[WorkerProcessSettings],
) -> None:
    checked = 0
    for field, info in settings_class.model_fields.items():
        bad = bad_value_for(info.annotation)
        if bad is None:
            continue
        name = field.upper()
        with clean_environment.context() as env:
            env.setenv(name, bad)
            [line] = problem_lines(refusal(settings_class))
        assert line.startswith(f"{name}: "), line
        if info.is_required():
            assert "e.g. " in line, line
        elif info.default_factory is None and info.default is not None:
            assert "(the default)" in line, line
        checked += 1
    assert checked >= 20


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("photo=20", 'BATCH_WINDOW_BY_KIND: is not JSON: write it as JSON, e.g. {"photo": 20'),
        ('{"photo": "x"}', "the window for photo must be a number of seconds, not 'x'"),
        ('{"foto": 20}', "unknown kind 'foto'; the kinds are text, photo, video, voice"),
        ('["photo"]', "must be a JSON object of kinds and seconds"),
        ('{"photo": 0}', "the window for photo must be over 0 and at most 3600 seconds"),
    ],
)
def test_batch_window_by_kind_errors_name_the_variable_and_the_kinds(
    clean_environment: pytest.MonkeyPatch, value: str, said: str
) -> None:
    clean_environment.setenv("BATCH_WINDOW_BY_KIND", value)
    for settings_class in (BotSettings, WorkerProcessSettings):
        [line] = problem_lines(refusal(settings_class))
        assert line.startswith("BATCH_WINDOW_BY_KIND: ") and said in line, line
        assert "BATCH_WINDOW_BY_KIND_" not in line


def test_a_value_wrong_for_any_process_stops_every_process(
    clean_environment: pytest.MonkeyPatch,
) -> None:
    clean_environment.setenv("HISTORY_TURNS", "-1")  # read by the workers only
    [line] = problem_lines(refusal(BotSettings))
    assert line.startswith("HISTORY_TURNS: Input should be greater than or equal to 0")
    clean_environment.setenv("HISTORY_TURNS", "4")
    clean_environment.setenv("BOT_SHUTDOWN_GRACE_SECONDS", "-3")  # read by the bot only
    [line] = problem_lines(refusal(WorkerProcessSettings))
    assert line.startswith("BOT_SHUTDOWN_GRACE_SECONDS: ")


def test_webhook_secret_and_length_errors_say_what_is_wrong(
    clean_environment: pytest.MonkeyPatch,
) -> None:
    clean_environment.setenv("WEBHOOK_URL", "https://bot.example.com/telegram")
    clean_environment.setenv("WEBHOOK_SECRET", "my secret!value")
    [line] = problem_lines(refusal(BotSettings))
    assert line.startswith("WEBHOOK_SECRET: has characters Telegram refuses (2: space, '!')")
    assert "must be set" not in line and "my secret" not in line
    clean_environment.delenv("WEBHOOK_SECRET")
    [line] = problem_lines(refusal(BotSettings))
    assert "WEBHOOK_SECRET must be set with WEBHOOK_URL" in line
    clean_environment.setenv("WEBHOOK_SECRET", "fine-secret")
    clean_environment.setenv("PROACTIVE_TOKEN", "short")
    [line] = problem_lines(refusal(BotSettings))
    assert line == "PROACTIVE_TOKEN: must be at least 16 characters long"


def test_openai_mode_wants_the_chat_completions_endpoint_not_a_base(
    clean_environment: pytest.MonkeyPatch,
) -> None:
    clean_environment.setenv("BACKEND_PROTOCOL", "openai")
    clean_environment.setenv("BACKEND_MODEL", "gpt-4o-mini")
    clean_environment.setenv("BACKEND_URL", "https://api.openai.com/v1")
    [line] = problem_lines(refusal(WorkerProcessSettings))
    assert "BACKEND_URL must be the chat-completions endpoint" in line
    assert "https://api.openai.com/v1/chat/completions" in line
    clean_environment.setenv("BACKEND_URL", "https://api.openai.com/v1/chat/completions")
    assert load_settings(WorkerProcessSettings).backend_model == "gpt-4o-mini"


async def test_a_model_endpoint_that_is_not_one_says_so_in_a_short_reason() -> None:
    model = OpenAIStandIn()
    base = await model.start()
    client = OpenAIChatClient(base.removesuffix("/chat/completions"), 5, model="m")
    request = BatchRequest(
        batch_id="b1",
        chat=Chat(id=1, type="private"),
        user=User(id=1, first_name="A"),
        messages=[
            IncomingMessage(
                message_id=1, date="2026-11-29T10:00:00Z", kind=MessageKind.TEXT, text="hi"
            )
        ],
        text="hi",
    )
    try:
        with pytest.raises(PermanentBackendError) as refused:
            await client.answer(request)
    finally:
        await client.aclose()
        await model.stop()
    reason = str(refused.value)
    assert reason.startswith("model endpoint answered 404")
    assert "BACKEND_URL must be the provider's chat-completions endpoint" in reason
    assert len(reason) < 700


@pytest.fixture
async def telegram_and_redis(redis_server: RedisServer) -> AsyncIterator[tuple[str, str]]:
    stand_in = TelegramStandIn()
    await stand_in.start()
    yield stand_in.url, redis_server.url
    await stand_in.stop()


async def run_bot(**env: str) -> tuple[int, str]:
    environment = {**os.environ, "BOT_METRICS_PORT": "0", **env}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", env=environment, stderr=subprocess.PIPE
    )
    async with asyncio.timeout(60):
        _, stderr = await process.communicate()
    assert process.returncode is not None
    return process.returncode, stderr.decode()


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_a_refused_token_or_unreachable_bot_api_is_one_line(
    telegram_and_redis: tuple[str, str], mode: str
) -> None:
    api, redis_url = telegram_and_redis
    common = {"REDIS_URL": redis_url, "TELEGRAM_STARTUP_WAIT_SECONDS": "0"}
    if mode == "webhook":
        common |= {
            "WEBHOOK_URL": "https://bot.example.com/hook",
            "WEBHOOK_SECRET": "secret-0123",
            "WEBHOOK_LISTEN_HOST": "127.0.0.1",
            "WEBHOOK_LISTEN_PORT": str(free_port()),
        }
    wrong = "123456:WrongTokenWrongToken"
    cases = {
        "BOT_TOKEN was refused by the Bot API": {"BOT_TOKEN": wrong, "TELEGRAM_API_URL": api},
        "TELEGRAM_API_URL http://127.0.0.1:": {
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": f"http://127.0.0.1:{free_port()}",
        },
        "did not answer getMe as a Bot API server does": {
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": f"{api}/not-the-api",
        },
    }
    for said, env in cases.items():
        code, stderr = await run_bot(**common, **env)
        assert code == 1, stderr
        assert stderr.strip().count("\n") == 0, stderr
        assert said in stderr and "Traceback" not in stderr
        assert "WrongToken" not in stderr and "sandbox-token" not in stderr


def test_bot_and_worker_stop_in_one_block_for_a_bad_setting(redis_server: RedisServer) -> None:
    env = {
        **os.environ,
        "BOT_TOKEN": TOKEN,
        "REDIS_URL": redis_server.url,
        "BACKEND_URL": "http://127.0.0.1:9/webhook/batch",
        "BATCH_WINDOW_BY_KIND": "photo=20",
        "HISTORY_TURNS": "-1",
    }
    for module in ("bot", "worker"):
        finished = subprocess.run(
            [sys.executable, "-m", module],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert finished.returncode == 1, finished.stderr
        lines = problem_lines(finished.stderr.strip())
        assert [line.split(":")[0] for line in lines] == [
            "BATCH_WINDOW_BY_KIND",
            "HISTORY_TURNS",
        ]
