"""The turns benchmark's model of the deadline rule is the rule: ``append.lua`` on a real
Redis gives the same deadline for every message, on its own clock; and the replay counts
turns, answers, waits and wasted calls as its docstring says."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bench.turns import TimingFileError, load, replay
from bench.turns_rule import FixedWindow, Message, deadline_ms
from shared.models import Chat, IncomingMessage, MessageKind, User
from shared.rules import BatchingRules
from shared.store import BatchStore


@pytest.mark.parametrize(
    ("window_ms", "max_wait_ms", "max_messages", "branch"),
    [
        (60_000, 600_000, 1000, "window"),
        (60_000, 3, 1000, "max wait"),
        (60_000, 600_000, 4, "max messages"),
    ],
    ids=["window", "max-wait", "max-messages"],
)
async def test_the_model_gives_append_luas_deadline_for_every_message(
    redis: Redis, window_ms: int, max_wait_ms: int, max_messages: int, branch: str
) -> None:
    rules = BatchingRules(window_ms, max_wait_ms, max_messages, 1000, 10_000_000, 100_000)
    store = BatchStore(redis, 3600)
    chat, user = Chat(id=77, type="private"), User(id=77, first_name="Rule")
    first_ms, branches = None, set()
    for n in range(1, 41):
        message = IncomingMessage(
            message_id=n, date=datetime.now(UTC), kind=MessageKind.TEXT, text="x" * n
        )
        stored = await store.append("77", chat, user, message, rules)
        first_ms = stored.now_ms if first_ms is None else first_ms
        model = deadline_ms(stored.now_ms, first_ms, n, window_ms, max_wait_ms, max_messages)
        assert stored.deadline_ms == model, f"message {n}"
        if n >= max_messages:
            branches.add("max messages")
        elif model == first_ms + max_wait_ms:
            branches.add("max wait")
        else:
            branches.add("window")
    assert branch in branches  # the case reached the part of the rule it is about


def said(*messages: tuple[float, str]) -> list[Message]:
    return [Message(at, author, 10, "a", "text") for at, author in messages]


def test_a_turn_inside_the_window_is_answered_whole_after_its_last_message() -> None:
    [result] = [replay([said((0, "ann"), (1, "ann"), (2, "ann"))], FixedWindow(1.5))]
    assert (result.turns, result.whole_share, result.answers_per_turn) == (1, 1.0, 1.0)
    assert result.wait_p50_seconds == pytest.approx(1.5)


def test_gaps_longer_than_the_window_split_the_turn() -> None:
    result = replay([said((0, "ann"), (1, "ann"), (2, "ann"))], FixedWindow(0.5))
    assert (result.split_share, result.answers_per_turn) == (1.0, 3.0)
    assert result.wait_p50_seconds == pytest.approx(0.5)


def test_someone_else_writing_ends_a_turn_and_each_author_is_batched_alone() -> None:
    # Ann's two messages are two turns (Bob spoke between) but one batch of hers: each
    # turn is answered once, by that one answer, 2 s after her second message.
    result = replay([said((0, "ann"), (0.5, "bob"), (1, "ann"))], FixedWindow(2))
    assert (result.turns, result.whole_share) == (3, 1.0)
    assert sorted([result.wait_p50_seconds]) == [pytest.approx(2.0)]


def test_with_supersede_a_message_during_the_backend_call_wastes_that_call() -> None:
    # Claimed at 1 s, at the backend until 4 s; the message at 2 s supersedes it, and the
    # batch of both goes at 3 s, answered at 6 s.
    result = replay(
        [said((0, "ann"), (2, "ann"))], FixedWindow(1), backend_seconds=3, supersede=True
    )
    assert (result.whole_share, result.wasted_calls_per_turn) == (1.0, 1.0)
    assert result.wait_p50_seconds == pytest.approx(4.0)


def test_a_timing_file_that_is_missing_or_malformed_says_where(tmp_path: Path) -> None:
    with pytest.raises(TimingFileError, match="no such file"):
        load(tmp_path / "absent.jsonl")
    bad = tmp_path / "bad.jsonl"
    good = {"conv": "a:0", "res": 1.0, "t0": 0, "msgs": [[0.0, "ab", 3, "a", "text"]]}
    bad.write_text(json.dumps(good) + "\n" + json.dumps({"conv": "a:1"}) + "\n")
    with pytest.raises(TimingFileError, match=r"bad.jsonl, line 2: .*msgs"):
        load(bad)


def test_bench_replays_a_timing_file_given_and_refuses_a_bad_one(tmp_path: Path) -> None:
    corpus = tmp_path / "timing.jsonl"
    two = [[0, "a", 5, "a", "text"], [2, "a", 9, "?", "text"]]
    rows = [
        {"conv": "r:0", "res": 1.0, "t0": 0, "msgs": two},
        {"conv": "r:1", "res": 1.0, "t0": 0, "msgs": [[0, "b", 5, "?", "text"]]},
    ]
    corpus.write_text("".join(json.dumps(row) + "\n" for row in rows))
    out = tmp_path / "figures.json"
    bench = [sys.executable, "-m", "bench", "--only", "turns", "--timing"]
    done = subprocess.run(
        [*bench, str(corpus), "--json", str(out)], check=False, capture_output=True
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(out.read_text())["turns"]
    fixed = {row["policy"]: row for row in figures}
    assert fixed["fixed 1 s"]["turns"] == 2
    assert fixed["fixed 30 s"]["whole_share"] == 1.0
    missing = subprocess.run(
        [*bench, str(tmp_path / "none.jsonl")], check=False, capture_output=True
    )
    assert missing.returncode != 0
    assert b"none.jsonl: no such file" in missing.stderr
