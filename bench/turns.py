"""The batching window measured on real human timing (``bench --only turns``).

Replays a timing corpus (``../shared/timing``'s format: who wrote when, no text) through
batchbot's deadline rule (:mod:`bench.turns_rule`), each author as the bot sees a person:
one conversation, batched alone. A *turn* is one author's consecutive messages until
anyone else writes or 120 s pass. Per setting:

- whole: turns answered by one answer, after their last message;
- split: turns answered in two or more answers (an answer came mid-turn);
- answers per turn, and the wait from a turn's last message to its answer (p50, p90);
- with supersede and a backend that takes D seconds: backend calls wasted per turn (a
  message that came while its batch was at the backend, before any of the answer went).

Gitter's clock has 1 s resolution: each message gets a reproducible random fraction of
a second, so no rule sees gaps of exactly whole seconds.
"""

from __future__ import annotations

import json
import random
import statistics
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import percentile
from bench.turns_rule import ByEnding, FixedWindow, Message, OwnRhythm, WindowPolicy, deadline_ms

TURN_GAP_SECONDS = 120.0
DEFAULT_TIMING = Path(__file__).resolve().parents[2] / "shared" / "timing" / "gitter-livechat.jsonl"
MAX_WAIT_SECONDS = 60.0
MAX_MESSAGES = 10
WINDOWS = (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 15.0, 20.0, 30.0)
BACKEND_SECONDS = 3.0


class TimingFileError(Exception):
    """The timing file is missing or not in the corpus's format; says which and where."""


@dataclass(frozen=True, slots=True)
class TurnsResult:
    policy: str
    window_p50_seconds: float
    """The policy's median window over all messages (a fixed window: itself)."""
    turns: int
    whole_share: float
    multi_whole_share: float
    """Of the turns of two or more messages (a third), the share answered whole."""
    split_share: float
    answers_per_turn: float
    wait_p50_seconds: float
    wait_p90_seconds: float
    wait_mean_seconds: float
    backend_seconds: float = 0.0
    wasted_calls_per_turn: float = 0.0


@dataclass(slots=True)
class _Batch:
    messages: list[int]
    first: float
    due: float = 0.0
    answered_at: float = 0.0


@dataclass(slots=True)
class _Replay:
    """One author's messages through the rule: which answer each message came in."""

    policy: WindowPolicy
    backend_seconds: float
    supersede: bool
    answer_of: dict[int, int] = field(default_factory=dict)
    answered_at: list[float] = field(default_factory=list)
    windows: list[float] = field(default_factory=list)
    wasted: int = 0
    _pending: _Batch | None = None
    _at_backend: _Batch | None = None
    _free_at: float = 0.0

    def run(self, messages: Sequence[Message], turn_gaps: Sequence[Sequence[float]]) -> None:
        for index, message in enumerate(messages):
            self._until(message.at)
            window = self.policy.window(message, turn_gaps[index])
            self.windows.append(window)
            self._arrive(index, message.at, window)
        self._until(float("inf"))

    def _arrive(self, index: int, at: float, window: float) -> None:
        going = self._at_backend
        if self.supersede and going is not None and at < going.first + MAX_WAIT_SECONDS:
            self.wasted += 1  # its call is cancelled; its messages go first in the next
            pending = self._pending or _Batch([], going.first)
            self._pending = _Batch(going.messages + pending.messages, going.first)
            self._at_backend, self._free_at = None, 0.0
        batch = self._pending = self._pending or _Batch([], at)
        batch.messages.append(index)
        due_ms = deadline_ms(
            round(at * 1000), round(batch.first * 1000), len(batch.messages),
            round(window * 1000), round(MAX_WAIT_SECONDS * 1000), MAX_MESSAGES,
        )  # fmt: skip
        batch.due = due_ms / 1000

    def _until(self, now: float) -> None:
        """Claims and answers that happen before ``now``."""
        while True:
            going, pending = self._at_backend, self._pending
            if going is not None and going.answered_at <= now:
                self._answered(going)
                continue
            if going is None and pending is not None:
                claim = max(pending.due, self._free_at)
                if claim <= now:
                    pending.answered_at = claim + self.backend_seconds
                    self._at_backend, self._pending = pending, None
                    continue
            return

    def _answered(self, batch: _Batch) -> None:
        number = len(self.answered_at)
        self.answered_at.append(batch.answered_at)
        for index in batch.messages:
            self.answer_of[index] = number
        self._at_backend, self._free_at = None, batch.answered_at


def load(path: Path) -> list[list[Message]]:
    """The corpus's conversations, each in time order, every message given a reproducible
    fraction of a second where the clock has 1 s resolution."""
    if not path.is_file():
        raise TimingFileError(
            f"{path}: no such file; the corpus is ../shared/timing/gitter-livechat.jsonl "
            "beside the project, or pass --timing FILE (the same format)"
        )
    conversations = []
    rng = random.Random(20261206)
    with path.open() as lines:
        for number, line in enumerate(lines, start=1):
            try:
                row = json.loads(line)
                resolution = float(row.get("res", 0.0))
                messages, previous = [], -1.0
                for written, author, length, last, kind in row["msgs"]:
                    at = max(float(written) + rng.random() * resolution, previous + 0.001)
                    messages.append(Message(at, str(author), int(length), str(last), str(kind)))
                    previous = at
            except (ValueError, KeyError, TypeError) as error:
                raise TimingFileError(
                    f"{path}, line {number}: not a conversation of the timing format "
                    f"({error!r}); each line needs msgs: [[t, author, length, last, kind], ...]"
                ) from error
            conversations.append(messages)
    return conversations


def _turns(conversation: Sequence[Message]) -> list[list[int]]:
    """Indices of each turn's messages in the conversation."""
    turns: list[list[int]] = []
    for index, message in enumerate(conversation):
        previous = conversation[index - 1] if index else None
        same = previous is not None and previous.author == message.author
        if same and previous is not None and message.at - previous.at < TURN_GAP_SECONDS:
            turns[-1].append(index)
        else:
            turns.append([index])
    return turns


def _by_author(conversation: Sequence[Message]) -> Iterator[tuple[list[int], list[list[float]]]]:
    """Each author's message indices, and for each of them the author's gaps inside
    turns before it (what the bot could know of the person's rhythm)."""
    turn_of = {index: n for n, turn in enumerate(_turns(conversation)) for index in turn}
    indices: dict[str, list[int]] = defaultdict(list)
    for index, message in enumerate(conversation):
        indices[message.author].append(index)
    for mine in indices.values():
        gaps: list[float] = []
        known: list[list[float]] = []
        for position, index in enumerate(mine):
            known.append(list(gaps))
            if position + 1 < len(mine) and turn_of[mine[position + 1]] == turn_of[index]:
                gaps.append(conversation[mine[position + 1]].at - conversation[index].at)
        yield mine, known


def replay(
    conversations: Sequence[Sequence[Message]],
    policy: WindowPolicy,
    backend_seconds: float = 0.0,
    supersede: bool = False,
) -> TurnsResult:
    answers_per_turn: list[int] = []
    multi: list[bool] = []
    waits: list[float] = []
    windows: list[float] = []
    wasted = 0
    for conversation in conversations:
        answer_of: dict[int, tuple[str, int]] = {}
        answered_at: dict[tuple[str, int], float] = {}
        for mine, known in _by_author(conversation):
            run = _Replay(policy, backend_seconds, supersede)
            run.run([conversation[i] for i in mine], known)
            author = conversation[mine[0]].author
            for position, number in run.answer_of.items():
                answer_of[mine[position]] = (author, number)
            for number, at in enumerate(run.answered_at):
                answered_at[(author, number)] = at
            windows.extend(run.windows)
            wasted += run.wasted
        for turn in _turns(conversation):
            answers = {answer_of[index] for index in turn}
            answers_per_turn.append(len(answers))
            multi.append(len(turn) > 1)
            last = conversation[turn[-1]].at
            waits.append(answered_at[answer_of[turn[-1]]] - last)
    turns = len(answers_per_turn)
    return TurnsResult(
        policy=policy.name,
        window_p50_seconds=statistics.median(windows),
        turns=turns,
        whole_share=sum(n == 1 for n in answers_per_turn) / turns,
        multi_whole_share=sum(n == 1 for n, m in zip(answers_per_turn, multi, strict=True) if m)
        / max(1, sum(multi)),
        split_share=sum(n > 1 for n in answers_per_turn) / turns,
        answers_per_turn=sum(answers_per_turn) / turns,
        wait_p50_seconds=statistics.median(waits),
        wait_p90_seconds=percentile(waits, 0.90),
        wait_mean_seconds=statistics.fmean(waits),
        backend_seconds=backend_seconds,
        wasted_calls_per_turn=wasted / turns,
    )


def policies() -> list[WindowPolicy]:
    """Today's fixed windows, then the candidates that use what the bot knows."""
    fixed: list[WindowPolicy] = [FixedWindow(w, name=f"fixed {w:g} s") for w in WINDOWS]
    ending: list[WindowPolicy] = [
        ByEnding(ended, unfinished, name=f"ending {ended:g}/{unfinished:g} s")
        for ended, unfinished in ((1, 4), (2, 6), (2, 8), (3, 10), (4, 15))
    ]
    rhythm: list[WindowPolicy] = [
        OwnRhythm(factor, low, high, name=f"rhythm {factor:g}x [{low:g}, {high:g}] s")
        for factor, low, high in ((1.5, 2, 10), (2, 2, 15), (3, 3, 20))
    ]
    return fixed + ending + rhythm


def run(path: Path = DEFAULT_TIMING, quick: bool = False) -> list[TurnsResult]:
    conversations = load(path)
    if quick:
        conversations = conversations[:500]
    results = [replay(conversations, policy) for policy in policies()]
    for seconds in (3.0, 5.0, 10.0):
        window = FixedWindow(seconds, name=f"fixed {seconds:g} s, supersede")
        results.append(replay(conversations, window, BACKEND_SECONDS, supersede=True))
    return results
