"""The benchmarks still run: ``python -m bench --quick`` on the fast ones, JSON checked.

Figures at quick sizes mean little and no speed is asserted here; what a benchmark
counts (round trips, lost messages, duplicates) is exact and is checked.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


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
