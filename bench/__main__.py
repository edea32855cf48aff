"""``python -m bench``: every benchmark, each next to its baseline; a table, then JSON.

Starts its own redis-server and sandbox. ``--quick`` runs tiny sizes (a smoke test
that the benchmarks still work, not figures to quote); ``--only`` picks some.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import sys
from collections.abc import Callable, Coroutine
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

from bench import (
    answer_life,
    compare,
    console,
    drafts,
    e2e,
    http_client,
    ingest,
    media,
    memory,
    profile,
    scale,
    tenants,
    timer,
    turns,
)
from sandbox.redis_server import RedisServer

T = TypeVar("T")

NAMES = (
    "ingest",
    "timer",
    "e2e",
    "profile",
    "memory",
    "scale",
    "http",
    "drafts",
    "console",
    "answer",
    "turns",
    "media",
    "tenants",
)


def _table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=True)]
    print(f"\n{title}")
    for line in (header, *rows):
        print("  " + "  ".join(str(c).rjust(w) for c, w in zip(line, widths, strict=True)))


def _ingest_table(results: list[ingest.IngestResult]) -> None:
    _table(
        f"1. Ingest: {results[0].messages:,} updates, bursts of 5, through feed_update and handler,"
        f" median of {max(1, len(results[0].rounds))} interleaved rounds"
        " (whatsapp, instagram, messenger: the same as signed webhook deliveries through the"
        " Meta webhook handler)",
        ["design", "concurrent", "msgs/s", "each round", "round trips/msg", "commands/msg",
         "lost"],
        [
            [r.name, str(r.concurrency), f"{r.per_second:,.0f}",
             " ".join(f"{rate:,}" for rate in r.rounds) or "-",
             f"{r.round_trips_per_message:.2f}", f"{r.commands_per_message:.1f}", str(r.lost)]
            for r in results
        ],
    )  # fmt: skip
    for concurrency in sorted({r.concurrency for r in results}):
        ours = next(r for r in results if r.name == "batchbot" and r.concurrency == concurrency)
        naive = next(r for r in results if r.name == "naive" and r.concurrency == concurrency)
        ratio = ours.per_second / naive.per_second
        meta = [
            f"{r.name} {r.per_second / ours.per_second:.2f}x"
            for r in results
            if r.concurrency == concurrency and r.name in ingest.CHANNEL_SETTINGS
        ]
        print(
            f"  at {concurrency} concurrent: {ratio:.1f}x the baseline's rate; against "
            f"Telegram's rate: {', '.join(meta)}"
        )


def _timer_table(results: list[timer.TimerResult]) -> None:
    _table(
        "2. Timer: batch start after its deadline (ms), 2 workers",
        ["pending", "workers poll", "p50", "p99", "max"],
        [
            [f"{r.pending:,}", f"{r.poll_delay_seconds:g} s ({r.name})", f"{r.p50_ms:.0f}",
             f"{r.p99_ms:.0f}", f"{r.max_ms:.0f}"]
            for r in results
        ],
    )  # fmt: skip


def _e2e_table(results: list[e2e.EndToEndResult]) -> None:
    _table(
        f"3. End to end: {results[0].batches:,} batches of 3, backend takes 200 ms",
        ["workers", "batches/s", "msgs/s", "ceiling", "worker CPU", "CPU ms/batch", "Redis CPU",
         "stand-ins CPU"],
        [
            [str(r.workers), f"{r.batches_per_second:.0f}", f"{r.messages_per_second:.0f}",
             f"{r.ceiling_per_second:.0f}", f"{r.worker_cpu_share:.2f}",
             f"{r.worker_cpu_share * 1000 / r.batches_per_second:.2f}",
             f"{r.redis_cpu_share:.2f}", f"{r.bench_cpu_share:.2f}"]
            for r in results
        ],
    )  # fmt: skip
    one, two = results[0], results[1]
    efficiency = two.batches_per_second / (2 * one.batches_per_second)
    print(f"  scaling 1 -> 2 workers: {efficiency:.0%} efficient")
    print("  (CPU columns: cores busy on average; the machine has", os.cpu_count(), "cores)")


def _profile_table(result: profile.ProfileResult) -> None:
    print(f"\n3b. Where a batch's time goes: 1 worker under cProfile, {result.batches:,} batches")
    print(f"  profiled worker CPU per batch: {result.profiled_cpu_ms_per_batch:.1f} ms")
    for part, share in result.parts.items():
        print(f"  {share:6.1%}  {part}")
    print("  the protocol's steps, cumulative ms per batch (profiled):")
    for step, ms in result.steps_ms_per_batch.items():
        print(f"  {ms:7.2f}  {step}")
    commands = result.redis_commands_per_batch
    listed = ", ".join(f"{name} {count:.1f}" for name, count in commands.items())
    trips = result.redis_round_trips_per_batch
    print(f"  Redis round trips per batch (the worker's writes): {trips:.1f}")
    print(f"  Redis commands per batch: {sum(commands.values()):.1f} ({listed})")


def _drafts_table(result: drafts.DraftResult) -> None:
    _table(
        f"7. Drafts: {result.people} streamed answers (40 words, 2 s), 2 workers",
        ["first draft after first piece p50", "p99", "max", "first text without drafts p50",
         "draft updates/s per chat"],
        [[f"{result.first_draft_p50_ms:.0f} ms", f"{result.first_draft_p99_ms:.0f} ms",
          f"{result.first_draft_max_ms:.0f} ms", f"{result.without_drafts_p50_ms:.0f} ms",
          f"{result.updates_per_second_per_chat:.2f}"]],
    )  # fmt: skip


def _answer_table(result: answer_life.AnswerLifeResult) -> None:
    _table(
        f"8. The answer's life: \"Thinking…\" for {result.people} batches due at once "
        f"(backend thinks 1 s); Stop for {result.streams} streams at once",
        ["placeholder after claim p50", "p99", "baseline: typing… p50", "p99",
         "Stop to stream closed p50", "p99", "max", "writing saved p50"],
        [[f"{result.placeholder_p50_ms:.0f} ms", f"{result.placeholder_p99_ms:.0f} ms",
          f"{result.typing_p50_ms:.0f} ms", f"{result.typing_p99_ms:.0f} ms",
          f"{result.stop_closed_p50_ms:.0f} ms", f"{result.stop_closed_p99_ms:.0f} ms",
          f"{result.stop_closed_max_ms:.0f} ms", f"{result.uncancelled_p50_ms:.0f} ms"]],
    )  # fmt: skip


def _memory_table(results: list[memory.MemoryResult], keys: dict[str, int]) -> None:
    _table(
        "4. Memory: pending conversations of 5 short messages",
        ["design", "conversations", "bytes/conv", "bodies", "overhead", "used MB"],
        [
            [r.name, f"{r.conversations:,}", f"{r.bytes_per_conversation:.0f}",
             f"{r.body_bytes_per_conversation:.0f}", f"{r.overhead_per_conversation:.0f}",
             f"{r.used_memory_mb:.1f}"]
            for r in results
        ],
    )  # fmt: skip
    print(
        "  MEMORY USAGE of one conversation's keys: "
        + ", ".join(f"{k} {v}" for k, v in keys.items())
    )


def _console_table(results: list[console.ConsoleResult]) -> None:
    rows = [
        [
            f"{r.pending:,}",
            r.what,
            f"{r.commands_per_refresh:,.0f}",
            f"{r.ms_per_refresh_p50:.1f}",
            f"{r.ms_per_refresh_max:.1f}",
        ]
        for r in results
    ]
    header = ["pending", "reader", "commands/refresh", "ms p50", "ms max"]
    _table("Operations console: Redis cost of one refresh", header, rows)


def _scale_table(result: scale.ScaleResult) -> None:
    _table(
        f"5. Scale: {result.people:,} people x 5 messages, bot + {result.workers} workers",
        ["seconds", "batches", "replies", "lost", "in two batches", "overlaps", "no reply",
         "extra replies", "peak Redis MB"],
        [[f"{result.seconds:.1f}", str(result.batches), str(result.replies),
          str(result.lost_messages), str(result.messages_in_two_batches),
          str(result.overlapping_batches), str(result.people_without_reply),
          str(result.extra_replies), f"{result.peak_redis_mb:.1f}"]],
    )  # fmt: skip


def _http_table(results: list[http_client.ClientResult]) -> None:
    _table(
        "6. Backend client: CPU per request to the example backend (another process)",
        ["client", "concurrent", "CPU ms/request", "requests/s"],
        [
            [r.client, str(r.concurrency), f"{r.cpu_ms_per_request:.2f}",
             f"{r.requests_per_second:,.0f}"]
            for r in results
        ],
    )  # fmt: skip


def _media_table(result: media.MediaResult) -> None:
    _table(
        f"12. Voice notes: {result.people} people each send a voice note and two texts"
        f" (starting within {media.SPREAD_SECONDS:g} s);"
        f" transcription takes {media.TRANSCRIBE_SECONDS:g} s, window {media.WINDOW_SECONDS:g} s,"
        " 2 workers",
        ["batch start after deadline and transcript p50", "p99",
         "baseline: no voice notes, start after deadline p50", "p99", "words at the backend p50",
         "baseline: transcribed at batch time p50", "saved p50", "went without words"],
        [[f"{result.start_after_ready_p50_ms:.0f} ms", f"{result.start_after_ready_p99_ms:.0f} ms",
          f"{result.baseline_start_after_deadline_p50_ms:.0f} ms",
          f"{result.baseline_start_after_deadline_p99_ms:.0f} ms",
          f"{result.answer_start_p50_s:.2f} s", f"{result.baseline_answer_start_p50_s:.2f} s",
          f"{result.saved_p50_s:.2f} s", str(result.untranscribed)]],
    )  # fmt: skip


def _tenants_table(result: tenants.TenantsResult) -> None:
    fair = result.fairness
    _table(
        f"13. Tenants: A has {fair[0].flood:,} batches due at once, B's {fair[0].quiet} fall due"
        f" over {tenants.QUIET_SPREAD_MS // 1000} s; backend {tenants.BACKEND_SECONDS:g} s,"
        f" 2 workers of {tenants.MAX_JOBS}",
        ["design", "B's start after deadline p50", "p99", "max", "A at the backend at once"],
        [[r.design, f"{r.quiet_start_p50_ms:,.0f} ms", f"{r.quiet_start_p99_ms:,.0f} ms",
          f"{r.quiet_start_max_ms:,.0f} ms", str(r.flood_in_flight_max)] for r in fair],
    )  # fmt: skip
    base = result.cost[0]
    _table(
        f"    Cost per batch: {base.batches:,} batches of 1 message, 2 workers",
        ["tenants configured", "batches/s", "worker CPU ms/batch", "against no TENANTS_FILE"],
        [[str(r.tenants) if r.tenants else "none (environment only)",
          f"{r.batches_per_second:.0f}", f"{r.worker_cpu_ms_per_batch:.2f}",
          f"{r.worker_cpu_ms_per_batch / base.worker_cpu_ms_per_batch:.2f}x"] for r in result.cost],
    )  # fmt: skip


def _turns_table(results: list[turns.TurnsResult]) -> None:
    _table(
        f"11. Turns: {results[0].turns:,} turns of real chat timing replayed through the deadline"
        f" rule (max wait {turns.MAX_WAIT_SECONDS:g} s); the last rows with supersede and a"
        f" backend that takes {turns.BACKEND_SECONDS:g} s",
        ["rule", "median window", "whole", "of 2+ messages", "split", "answers/turn",
         "wait p50", "p90", "mean", "calls wasted/turn"],
        [
            [r.policy, f"{r.window_p50_seconds:.1f} s", f"{r.whole_share:.1%}",
             f"{r.multi_whole_share:.1%}", f"{r.split_share:.1%}", f"{r.answers_per_turn:.3f}",
             f"{r.wait_p50_seconds:.1f} s", f"{r.wait_p90_seconds:.1f} s",
             f"{r.wait_mean_seconds:.1f} s", f"{r.wasted_calls_per_turn:.3f}"]
            for r in results
        ],
    )  # fmt: skip


async def main(
    names: list[str], quick: bool, profile_out: str | None = None, timing: str | None = None
) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_at_start": _load(),
        },
        "quick": quick,
        "benchmarks": list(names),
    }
    server = RedisServer()
    server.start()
    try:
        await _on_one_redis(server.url, names, quick, profile_out, figures)
    finally:
        server.remove()
    if "http" in names:
        await _measure(
            figures, "http", http_client.run(200 if quick else http_client.REQUESTS), _http_table
        )
    if "scale" in names:
        await _measure(figures, "scale", scale.run(100 if quick else 10_000), _scale_table)
    if "turns" in names:
        path = Path(timing) if timing else turns.DEFAULT_TIMING
        replayed = turns.run(path, quick)
        _turns_table(replayed)
        figures["turns"] = _as_json(replayed)
    figures["machine"]["load_average_at_end"] = _load()
    return figures


async def _on_one_redis(
    url: str, names: list[str], quick: bool, profile_out: str | None, figures: dict[str, Any]
) -> None:
    """The benchmarks that share one redis-server (each empties it first)."""
    if "ingest" in names:
        await _measure(
            figures,
            "ingest",
            ingest.run(url, 100, rounds=1) if quick else ingest.run(url),
            _ingest_table,
        )
    if "timer" in names:
        await _measure(
            figures,
            "timer",
            timer.run(url, (100, 300), 100, 1000) if quick else timer.run(url),
            _timer_table,
        )
    if "e2e" in names:
        await _measure(figures, "e2e", e2e.run(url, 100 if quick else 2000), _e2e_table)
    if "profile" in names:
        await _measure(
            figures,
            "profile",
            profile.run(url, 100 if quick else 2000, profile_out),
            _profile_table,
        )
    if "memory" in names:
        _settle()
        sizes = (100, 1000) if quick else (1000, 10_000, 100_000)
        memory_results = await memory.run(url, sizes)
        keys = await memory.key_sizes(url)
        _memory_table(memory_results, keys)
        history = await memory.history_bytes(url)
        print(f"  HISTORY_TURNS=20: a conversation's history takes {history:,.0f} bytes")
        figures["memory"] = {
            "results": [asdict(r) for r in memory_results],
            "keys": keys,
            "history_turns_20_bytes": history,
        }
    if "console" in names:
        await _measure(
            figures,
            "console",
            console.run(url, (100, 1000) if quick else (100, 100_000)),
            _console_table,
        )
    if "drafts" in names:
        await _measure(figures, "drafts", drafts.run(url, 20 if quick else 200), _drafts_table)
    if "answer" in names:
        life = answer_life.run(url, 20 if quick else 200, 10 if quick else 100)
        await _measure(figures, "answer", life, _answer_table)
    if "media" in names:
        await _measure(figures, "media", media.run(url, 20 if quick else 200), _media_table)
    if "tenants" in names:
        many = tenants.run(url, 500, 50, 200) if quick else tenants.run(url)
        await _measure(figures, "tenants", many, _tenants_table)


async def _measure(
    figures: dict[str, Any], name: str, runs: Coroutine[Any, Any, T], show: Callable[[T], None]
) -> None:
    """Run one benchmark in a settled process, print its table and keep its figures."""
    _settle()
    result = await runs
    show(result)
    figures[name] = _as_json(result)


def _as_json(result: Any) -> Any:
    """A benchmark's result (a dataclass, or a list of them) as JSON-ready values."""
    return [asdict(r) for r in result] if isinstance(result, list) else asdict(result)


def _settle() -> None:
    """Collect what the previous benchmark left and freeze the rest before the next one.

    This process plays the backend and Telegram: its timestamps are the figures. After
    the ingest benchmark it held enough aiogram objects that one full collection paused it
    165 ms in the timer benchmark, and the calls that arrived meanwhile were stamped up
    to 176 ms late (the timer's 1,000-pending tail, p99 73 to 90 ms in three runs; 59 ms
    at most with this)."""
    gc.collect()
    gc.freeze()


def _load() -> list[float]:
    """The machine's 1, 5 and 15 minute load averages: on 2 cores, anything else running
    shows here (the benchmarks themselves raise the 1-minute one as they go)."""
    return [round(load, 2) for load in os.getloadavg()]


def cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test")
    parser.add_argument("--only", nargs="+", choices=NAMES, default=list(NAMES))
    parser.add_argument("--json", metavar="FILE", help="also write the JSON to FILE")
    parser.add_argument(
        "--compare",
        metavar="FILE",
        help="after the run, each figure beside the same one in FILE (a --json file, e.g. "
        "bench/results.json), marking any worse by more than 25%%; exit status 1 when one is "
        "worse or missing, 2 when the runs are of different sizes (--quick against full)",
    )
    parser.add_argument(
        "--timing",
        metavar="FILE",
        help="with turns: replay this timing file (the format of ../shared/timing) instead",
    )
    parser.add_argument(
        "--profile-out",
        metavar="FILE",
        help="with profile: also keep the worker's cProfile stats in FILE (python -m pstats FILE)",
    )
    args = parser.parse_args()
    stored = _stored(args.compare) if args.compare else None
    one, five, fifteen = _load()
    print(
        f"batchbot benchmarks on {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"load average {one}, {five}, {fifteen} (1, 5, 15 min) at the start"
    )
    if "turns" in args.only:
        try:  # a bad file is said before anything else runs
            turns.load(Path(args.timing) if args.timing else turns.DEFAULT_TIMING)
        except turns.TimingFileError as error:
            sys.exit(f"bench: --timing: {error}")
    figures = asyncio.run(main(args.only, args.quick, args.profile_out, args.timing))
    one, five, fifteen = figures["machine"]["load_average_at_end"]
    print(f"\nload average at the end: {one}, {five}, {fifteen} (1, 5, 15 min)")
    text = json.dumps(figures, indent=2)
    print("\nJSON:")
    print(text)
    if args.json:
        with open(args.json, "w") as out:
            out.write(text + "\n")
    if stored is not None:
        try:
            lines, passed = compare.report(stored, figures, args.compare)
        except compare.Mismatch as error:
            sys.exit(f"bench: --compare {args.compare}: {error}")
        print("\n".join(lines))
        sys.stdout.flush()
        if not passed:
            sys.exit(1)  # a figure worse by more than 25%, or missing: say so to a script
    sys.stdout.flush()


def _stored(path: str) -> dict[str, Any]:
    """The run to compare with, read before this one starts: a bad file costs no waiting."""
    try:
        with open(path) as stored:
            figures: dict[str, Any] = json.load(stored)
    except (OSError, ValueError) as error:
        sys.exit(f"bench: --compare {path}: cannot be read as a --json file ({error})")
    return figures


if __name__ == "__main__":
    cli()
