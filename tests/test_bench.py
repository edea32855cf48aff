"""The benchmarks still run: ``python -m bench --quick`` on the fast ones, JSON checked.

Figures at quick sizes mean little and no speed is asserted here; what a benchmark
counts (round trips, lost messages, duplicates) is exact and is checked.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.chaos import (
    DRAIN_SECONDS,
    LEASE_SECONDS,
    SWEEP_SECONDS,
    Verdict,
    duplicate_gaps,
    fault_task_failures,
)
from bench.compare import Mismatch, compare, report
from sandbox.telegram_api import SentMessage, TelegramStandIn


def test_quick_benchmarks_run_and_count_exactly(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    finished = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "ingest", "memory", "scale", "http",
         "--json", str(out)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert "1. Ingest" in finished.stdout and "5. Scale" in finished.stdout
    figures = json.loads(out.read_text())
    for moment in ("load_average_at_start", "load_average_at_end"):  # the machine's load noted
        assert len(figures["machine"][moment]) == 3, moment

    batchbot = [r for r in figures["ingest"] if r["name"] == "batchbot"]
    assert [r["lost"] for r in batchbot] == [0, 0]
    assert all(r["round_trips_per_message"] <= 1.01 for r in batchbot)
    for channel in ("whatsapp", "instagram", "messenger"):  # one delivery, one store call
        rows = [r for r in figures["ingest"] if r["name"] == channel]
        assert [r["lost"] for r in rows] == [0, 0], channel
        assert all(r["round_trips_per_message"] <= 1.01 for r in rows), channel
    naive = [r for r in figures["ingest"] if r["name"] == "naive"]
    assert [round(r["round_trips_per_message"]) for r in naive] == [6, 6]

    scale = figures["scale"]
    assert scale["lost_messages"] == 0
    assert scale["messages_in_two_batches"] == 0
    assert scale["overlapping_batches"] == 0
    assert scale["people_without_reply"] == 0
    assert scale["extra_replies"] == 0

    assert {r["name"] for r in figures["memory"]["results"]} == {"batchbot", "naive"}
    assert {r["client"] for r in figures["http"]} == {
        "httpx",
        "httpx + aiohttp transport",
        "aiohttp alone",
    }


STORED: dict[str, Any] = {
    "quick": False,
    "benchmarks": ["ingest", "timer", "scale", "profile", "http"],
    "ingest": [{"name": "batchbot", "concurrency": 1, "messages": 5000, "per_second": 1000.0,
                "round_trips_per_message": 1.0, "lost": 0}],
    "timer": [{"name": "batchbot", "pending": 10000, "p50_ms": 20.0, "p99_ms": 80.0}],
    "scale": {"people": 10, "seconds": 10.0, "lost_messages": 0, "messages_in_two_batches": 0,
              "overlapping_batches": 0, "people_without_reply": 0, "extra_replies": 0},
    "profile": {"batches": 100, "profiled_cpu_ms_per_batch": 20.0,
                "redis_round_trips_per_batch": 8.0, "redis_commands_per_batch": {"get": 1.0}},
    "http": [{"client": "httpx", "requests": 2000, "concurrency": 1, "cpu_ms_per_request": 0.8}],
}  # fmt: skip


def _copy(run: dict[str, Any]) -> dict[str, Any]:
    copied: dict[str, Any] = json.loads(json.dumps(run))
    return copied


def test_compare_marks_a_figure_worse_by_more_than_a_quarter_each_way() -> None:
    now = _copy(STORED)
    now["ingest"][0]["per_second"] = 810.0  # 1.23x slower: within the margin
    now["timer"][0]["p99_ms"] = 101.0  # 26% later: worse
    now["scale"]["lost_messages"] = 1  # from none: worse
    now["profile"]["redis_round_trips_per_batch"] = 12.0  # half as many again: worse
    now["timer"].append({"name": "ARQ default poll", "pending": 10000, "p50_ms": 1, "p99_ms": 2})
    both, missing = compare(STORED, now)
    worse = {c.name for c in both if c.worse}
    assert worse == {
        "timer batchbot 10,000 pending p99 ms",
        "scale 10 people lost_messages",
        "profile 100 batches Redis round trips/batch",
    }
    assert missing == [
        "timer ARQ default poll 10,000 pending p50 ms (not in the stored run)",
        "timer ARQ default poll 10,000 pending p99 ms (not in the stored run)",
    ]
    lines, passed = report(STORED, now, "stored.json")
    assert lines[-1] == "  15 figures compared, 3 worse by more than 25%, 2 missing"
    assert any(line.endswith("1.26x  WORSE") for line in lines)
    assert not passed


def test_compare_counts_every_count_and_names_sizes() -> None:
    """People without a reply and overlapping batches are counts like lost messages; an
    HTTP figure names its number of requests, so runs of other sizes never pair up."""
    now = _copy(STORED)
    now["scale"]["people_without_reply"] = 2
    now["scale"]["overlapping_batches"] = 1
    now["http"][0]["requests"] = 200
    both, missing = compare(STORED, now)
    assert {c.name for c in both if c.worse} == {
        "scale 10 people people_without_reply",
        "scale 10 people overlapping_batches",
    }
    assert "http 200 requests httpx x1 CPU ms/request (not in the stored run)" in missing
    assert "http 2,000 requests httpx x1 CPU ms/request (in the stored run, not in this one)" in (
        missing
    )


def test_a_section_this_run_lacks_is_missing_not_silently_skipped() -> None:
    now = _copy(STORED)
    del now["scale"]  # measured (it is in "benchmarks") but gone from the figures
    lines, passed = report(STORED, now, "stored.json")
    assert "  MISSING scale 10 people lost_messages (in the stored run, not in this one)" in lines
    assert lines[-1].endswith("0 worse by more than 25%, 6 missing") and not passed
    only = _copy(STORED)
    only["benchmarks"] = ["ingest", "timer", "profile", "http"]  # --only: scale not run
    del only["scale"]
    lines, passed = report(STORED, only, "stored.json")
    assert "  not measured in this run (--only): scale" in lines and passed


def test_a_quick_run_is_not_compared_with_a_full_one() -> None:
    quick = {**_copy(STORED), "quick": True}
    with pytest.raises(Mismatch, match="this run is --quick and the stored one is not"):
        compare(STORED, quick)


def test_a_baseline_is_shown_but_never_judged() -> None:
    """ARQ's default poll and the naive store are what batchbot is measured against: their
    noise is not batchbot's regression."""
    poll = {"name": "ARQ default poll", "pending": 1000, "p50_ms": 160.0, "p99_ms": 300.0}
    stored = {"quick": False, "benchmarks": ["timer"], "timer": [poll]}
    now = _copy(stored)
    now["timer"][0]["p99_ms"] = 480.0
    lines, passed = report(stored, now, "stored.json")
    assert passed and any(line.endswith("1.60x  (baseline)") for line in lines)


def test_the_stored_results_compare_with_themselves() -> None:
    """bench/results.json names every benchmark it holds, with sizes."""
    stored = json.loads((Path(__file__).parent.parent / "bench" / "results.json").read_text())
    lines, passed = report(stored, stored, "bench/results.json")
    assert passed and " 0 missing" in lines[-1]


def test_the_chaos_run_ends_in_a_verdict() -> None:
    clean = Verdict(people=200, messages_per_person=15, lost_messages=0,
                    messages_in_two_batches=0, duplicate_replies=2,
                    unexplained_duplicate_replies=0, recovery_max_seconds=12.6,
                    fault_task_failures=0).judge()  # fmt: skip
    assert clean.missed == []
    bad = Verdict(people=200, messages_per_person=15, lost_messages=1,
                  messages_in_two_batches=2, duplicate_replies=3,
                  unexplained_duplicate_replies=1, recovery_max_seconds=16.0,
                  fault_task_failures=1).judge()  # fmt: skip
    assert len(bad.missed) == 5
    assert "1 fault task(s) crashed" in bad.missed[-1]
    # Its counts compare like any other run's (bench --compare).
    run = {"quick": False, "benchmarks": ["chaos"], "chaos": dataclasses.asdict(clean)}
    worse = {**run, "chaos": dataclasses.asdict(bad)}
    both, missing = compare(run, worse)
    assert not missing and {c.name for c in both if c.worse} == {
        "chaos 200 people x 15 lost_messages",
        "chaos 200 people x 15 messages_in_two_batches",
        "chaos 200 people x 15 unexplained_duplicate_replies",
        "chaos 200 people x 15 fault_task_failures",
        "chaos 200 people x 15 recovery max s",
    }


async def test_a_crashed_fault_task_is_caught_not_swallowed() -> None:
    async def crashes() -> None:
        raise RuntimeError("the failover never happened")

    async def runs_on() -> None:
        await asyncio.Event().wait()

    tasks = [asyncio.create_task(crashes()), asyncio.create_task(runs_on())]
    await asyncio.sleep(0)  # both start; the first ends at once
    await asyncio.sleep(0)
    [error] = fault_task_failures(tasks)
    assert str(error) == "the failover never happened"
    tasks[1].cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert len(fault_task_failures(tasks)) == 1  # a cancelled task is not a crash


def test_a_duplicate_far_from_any_kill_is_unexplained() -> None:
    telegram = TelegramStandIn()
    for at, tag in ((10.0, "[a]"), (10.5, "[a]"), (30.0, "[b]"), (31.0, "[b]")):
        telegram.sent.append(SentMessage(chat_id=1, message_id=1, text=f"{tag} hi", at=at))
    gaps = duplicate_gaps(telegram, kill_times=[10.3], primary_killed_at=None)
    assert [round(kill, 1) for kill, _ in gaps] == [0.3, -19.7]  # [a] on the wire; [b] not
    assert DRAIN_SECONDS > LEASE_SECONDS + SWEEP_SECONDS  # a late duplicate is still counted
