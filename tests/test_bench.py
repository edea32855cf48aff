"""The benchmarks still run: ``python -m bench --quick`` on the fast ones, JSON checked.

Figures at quick sizes mean little and no speed is asserted here; what a benchmark
counts (round trips, lost messages, duplicates) is exact and is checked.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.compare import compare, report


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


def test_compare_marks_a_figure_worse_by_more_than_a_quarter_each_way() -> None:
    stored = {
        "ingest": [{"name": "batchbot", "concurrency": 1, "messages": 5000, "per_second": 1000.0,
                    "round_trips_per_message": 1.0, "lost": 0}],
        "timer": [{"name": "batchbot", "pending": 10000, "p50_ms": 20.0, "p99_ms": 80.0}],
        "scale": {"people": 10, "seconds": 10.0, "lost_messages": 0,
                  "messages_in_two_batches": 0, "extra_replies": 0},
        "profile": {"batches": 100, "profiled_cpu_ms_per_batch": 20.0,
                    "redis_round_trips_per_batch": 8.0, "redis_commands_per_batch": {"get": 1.0}},
    }  # fmt: skip
    now = json.loads(json.dumps(stored))
    now["ingest"][0]["per_second"] = 810.0  # 1.23x slower: within the margin
    now["timer"][0]["p99_ms"] = 101.0  # 26% later: worse
    now["scale"]["lost_messages"] = 1  # from none: worse
    now["profile"]["redis_round_trips_per_batch"] = 12.0  # half as many again: worse
    now["timer"].append({"name": "ARQ default poll", "pending": 10000, "p50_ms": 1, "p99_ms": 2})
    both, missing = compare(stored, now)
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
    lines = report(stored, now, "stored.json")
    assert lines[-1] == "  12 figures compared, 3 worse by more than 25%"
    assert any(line.endswith("1.26x  WORSE") for line in lines)
