"""``--compare FILE``: each figure of this run beside the same figure of a stored run (a
``--json`` file such as bench/results.json), with the ratio, marking any figure worse by
more than 25%. Regressions show in one command instead of by reading two tables.

Only figures both runs have are compared (a ``--quick`` run against a full one compares
different sizes and says so); the rest are listed as missing on one side.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

WORSE_BY = 1.25
"""A figure this much worse than the stored one is marked."""


@dataclass(frozen=True, slots=True)
class Figure:
    name: str
    value: float
    higher_is_better: bool


@dataclass(frozen=True, slots=True)
class Compared:
    name: str
    stored: float
    now: float
    higher_is_better: bool

    @property
    def ratio(self) -> float | None:
        """now / stored; None when the stored figure is 0."""
        return self.now / self.stored if self.stored else None

    @property
    def worse(self) -> bool:
        if self.higher_is_better:
            return self.now * WORSE_BY < self.stored
        if self.stored == 0:
            return self.now > 0  # lost messages, extra replies: any is a regression
        return self.now > self.stored * WORSE_BY


def figures(run: dict[str, Any]) -> Iterator[Figure]:
    """Every comparable figure of a run, named by benchmark and case."""
    for row in run.get("ingest", []):
        case = f"ingest {row['messages']:,} {row['name']} x{row['concurrency']}"
        yield Figure(f"{case} msgs/s", row["per_second"], True)
        yield Figure(f"{case} round trips/msg", row["round_trips_per_message"], False)
        yield Figure(f"{case} lost", row["lost"], False)
    for row in run.get("timer", []):
        case = f"timer {row['name']} {row['pending']:,} pending"
        yield Figure(f"{case} p50 ms", row["p50_ms"], False)
        yield Figure(f"{case} p99 ms", row["p99_ms"], False)
    for row in run.get("e2e", []):
        case = f"e2e {row['batches']:,} batches, {row['workers']} worker(s)"
        yield Figure(f"{case} batches/s", row["batches_per_second"], True)
        if row.get("batches_per_second"):
            cpu_ms = row["worker_cpu_share"] * 1000 / row["batches_per_second"]
            yield Figure(f"{case} worker CPU ms/batch", cpu_ms, False)
    for row in run.get("memory", {}).get("results", []):
        case = f"memory {row['name']} {row['conversations']:,} conversations"
        yield Figure(f"{case} overhead bytes", row["overhead_per_conversation"], False)
    for row in run.get("http", []):
        case = f"http {row['client']} x{row['concurrency']}"
        yield Figure(f"{case} CPU ms/request", row["cpu_ms_per_request"], False)
    profile = run.get("profile")
    if profile:
        case = f"profile {profile['batches']:,} batches"
        yield Figure(
            f"{case} Redis round trips/batch", profile["redis_round_trips_per_batch"], False
        )
        commands = sum(profile["redis_commands_per_batch"].values())
        yield Figure(f"{case} Redis commands/batch", commands, False)
        yield Figure(f"{case} profiled CPU ms/batch", profile["profiled_cpu_ms_per_batch"], False)
    drafts = run.get("drafts")
    if drafts:
        yield Figure(
            f"drafts {drafts['people']} first draft p99 ms", drafts["first_draft_p99_ms"], False
        )
    for row in run.get("console", []):
        case = f"console {row['what']} {row['pending']:,} pending"
        yield Figure(f"{case} commands/refresh", row["commands_per_refresh"], False)
    scale = run.get("scale")
    if scale:
        yield Figure(f"scale {scale['people']:,} people seconds", scale["seconds"], False)
        for name in ("lost_messages", "messages_in_two_batches", "extra_replies"):
            yield Figure(f"scale {scale['people']:,} people {name}", scale[name], False)


def compare(stored: dict[str, Any], now: dict[str, Any]) -> tuple[list[Compared], list[str]]:
    """The figures both runs have, compared; and the names only one of them has."""
    before = {f.name: f for f in figures(stored)}
    after = {f.name: f for f in figures(now)}
    both = [
        Compared(name, before[name].value, figure.value, figure.higher_is_better)
        for name, figure in after.items()
        if name in before
    ]
    missing = [f"{name} (not in the stored run)" for name in after if name not in before]
    return both, missing


def report(stored: dict[str, Any], now: dict[str, Any], stored_name: str) -> list[str]:
    """The comparison as lines to print."""
    both, missing = compare(stored, now)
    width = max((len(c.name) for c in both), default=10)
    lines = [f"\nCompared with {stored_name} (worse by more than 25%: WORSE)"]
    lines.append(f"  {'figure'.ljust(width)}  {'stored':>10}  {'now':>10}  ratio")
    for c in both:
        ratio = "—" if c.ratio is None else f"{c.ratio:.2f}x"
        mark = "  WORSE" if c.worse else ""
        lines.append(f"  {c.name.ljust(width)}  {c.stored:>10,.2f}  {c.now:>10,.2f}  {ratio}{mark}")
    lines += [f"  {name}" for name in missing]
    worse = sum(c.worse for c in both)
    lines.append(f"  {len(both)} figures compared, {worse} worse by more than 25%")
    return lines
