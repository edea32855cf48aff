"""``--compare FILE``: each figure of this run beside the same figure of a stored run (a
``--json`` file such as bench/results.json), with the ratio, marking any figure worse by
more than 25%. Regressions show in one command instead of by reading two tables, and in
the exit status: 1 when a figure is worse or missing, so a script can act on it.

Every figure is named with its sizes, and every count is compared (lost messages,
duplicates, people without a reply: from none, any is worse). A ``--quick`` run is not
compared with a full one (different sizes): that is refused. A figure of a benchmark
this run measured that the stored run has and this one lacks is listed and counts as a
failure, so deleting a section cannot read as "0 worse"; benchmarks this run did not
measure (``--only``) are named once.
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
    baseline: bool = False
    """A design batchbot is measured against (the naive store, ARQ's default poll, other
    HTTP clients): shown for the ratio, never judged, since its noise is not a regression."""


@dataclass(frozen=True, slots=True)
class Compared:
    name: str
    stored: float
    now: float
    higher_is_better: bool
    baseline: bool = False

    @property
    def ratio(self) -> float | None:
        """now / stored; None when the stored figure is 0."""
        return self.now / self.stored if self.stored else None

    @property
    def worse(self) -> bool:
        if self.baseline:
            return False
        if self.higher_is_better:
            return self.now * WORSE_BY < self.stored
        if self.stored == 0:
            return self.now > 0  # lost messages, extra replies: any is a regression
        return self.now > self.stored * WORSE_BY


class Mismatch(ValueError):
    """The two runs cannot be compared (one is --quick, the other is not)."""


def benchmarks_of(run: dict[str, Any]) -> set[str]:
    """The benchmarks a run measured: its own list, or (runs stored before it kept one)
    the sections it has."""
    named = run.get("benchmarks")
    if isinstance(named, list):
        return set(named)
    return {name for name in run if name not in ("machine", "quick")}


def figures(run: dict[str, Any]) -> Iterator[Figure]:
    """Every comparable figure of a run, named by benchmark, case and size."""
    for row in run.get("ingest", []):
        case = f"ingest {row['messages']:,} {row['name']} x{row['concurrency']}"
        base = row["name"] == "naive"
        yield Figure(f"{case} msgs/s", row["per_second"], True, base)
        yield Figure(f"{case} round trips/msg", row["round_trips_per_message"], False, base)
        yield Figure(f"{case} lost", row["lost"], False, base)
    for row in run.get("timer", []):
        case = f"timer {row['name']} {row['pending']:,} pending"
        base = row["name"] != "batchbot"
        yield Figure(f"{case} p50 ms", row["p50_ms"], False, base)
        yield Figure(f"{case} p99 ms", row["p99_ms"], False, base)
    for row in run.get("e2e", []):
        case = f"e2e {row['batches']:,} batches, {row['workers']} worker(s)"
        yield Figure(f"{case} batches/s", row["batches_per_second"], True)
        if row.get("batches_per_second"):
            cpu_ms = row["worker_cpu_share"] * 1000 / row["batches_per_second"]
            yield Figure(f"{case} worker CPU ms/batch", cpu_ms, False)
    for row in run.get("memory", {}).get("results", []):
        case = f"memory {row['name']} {row['conversations']:,} conversations"
        base = row["name"] != "batchbot"
        yield Figure(f"{case} overhead bytes", row["overhead_per_conversation"], False, base)
    for row in run.get("http", []):
        case = f"http {row['requests']:,} requests {row['client']} x{row['concurrency']}"
        base = row["client"] != "httpx"  # batchbot's client; the others are alternatives
        yield Figure(f"{case} CPU ms/request", row["cpu_ms_per_request"], False, base)
    yield from _profile_and_the_rest(run)


def _profile_and_the_rest(run: dict[str, Any]) -> Iterator[Figure]:
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
    life = run.get("answer")
    if life:
        yield Figure(
            f"answer {life['people']} placeholder p99 ms", life["placeholder_p99_ms"], False
        )
        yield Figure(
            f"answer {life['streams']} Stop closed p99 ms", life["stop_closed_p99_ms"], False
        )
    for row in run.get("console", []):
        case = f"console {row['what']} {row['pending']:,} pending"
        yield Figure(f"{case} commands/refresh", row["commands_per_refresh"], False)
    yield from _counts(run)


def _counts(run: dict[str, Any]) -> Iterator[Figure]:
    """What must stay at none: any lost or doubled message is worse than none."""
    scale = run.get("scale")
    if scale:
        yield Figure(f"scale {scale['people']:,} people seconds", scale["seconds"], False)
        for name in SCALE_COUNTS:
            yield Figure(f"scale {scale['people']:,} people {name}", scale[name], False)
    chaos = run.get("chaos")
    if chaos:
        case = f"chaos {chaos['people']:,} people x {chaos['messages_per_person']}"
        for name in CHAOS_COUNTS:
            yield Figure(f"{case} {name}", chaos[name], False)
        yield Figure(f"{case} recovery max s", chaos["recovery_max_seconds"], False)


SCALE_COUNTS = ("lost_messages", "messages_in_two_batches", "overlapping_batches",
                "people_without_reply", "extra_replies")  # fmt: skip
CHAOS_COUNTS = ("lost_messages", "messages_in_two_batches", "unexplained_duplicate_replies",
                "fault_task_failures")  # fmt: skip


def compare(stored: dict[str, Any], now: dict[str, Any]) -> tuple[list[Compared], list[str]]:
    """The figures both runs have, compared; and the names only one of them has, among
    the benchmarks this run measured. Mismatch when one run is --quick and the other not."""
    if bool(stored.get("quick")) != bool(now.get("quick")):
        which = "this run is --quick and the stored one is not" if now.get("quick") else (
            "the stored run is --quick and this one is not")  # fmt: skip
        raise Mismatch(
            f"{which}: their sizes differ, so no figure compares; compare runs of one kind"
        )
    measured = benchmarks_of(now)
    before = {f.name: f for f in figures(stored)}
    after = {f.name: f for f in figures(now)}
    both = [
        Compared(name, before[name].value, figure.value, figure.higher_is_better, figure.baseline)
        for name, figure in after.items()
        if name in before
    ]
    missing = [f"{name} (not in the stored run)" for name in after if name not in before]
    missing += [
        f"{name} (in the stored run, not in this one)"
        for name in before
        if name not in after and name.split(" ", 1)[0] in measured
    ]
    return both, missing


def report(stored: dict[str, Any], now: dict[str, Any], stored_name: str) -> tuple[list[str], bool]:
    """The comparison as lines to print, and whether it passed (nothing worse or missing)."""
    both, missing = compare(stored, now)
    width = max((len(c.name) for c in both), default=10)
    lines = [f"\nCompared with {stored_name} (worse by more than 25%: WORSE)"]
    lines.append(f"  {'figure'.ljust(width)}  {'stored':>10}  {'now':>10}  ratio")
    for c in both:
        ratio = "—" if c.ratio is None else f"{c.ratio:.2f}x"
        mark = "  WORSE" if c.worse else "  (baseline)" if c.baseline else ""
        lines.append(f"  {c.name.ljust(width)}  {c.stored:>10,.2f}  {c.now:>10,.2f}  {ratio}{mark}")
    lines += [f"  MISSING {name}" for name in missing]
    not_run = sorted(benchmarks_of(stored) - benchmarks_of(now))
    if not_run:
        lines.append(f"  not measured in this run (--only): {', '.join(not_run)}")
    worse = sum(c.worse for c in both)
    lines.append(
        f"  {len(both)} figures compared, {worse} worse by more than 25%, {len(missing)} missing"
    )
    return lines, worse == 0 and not missing
