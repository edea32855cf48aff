"""``batchctl handoff <conversation> [--seconds N | --resume]``: the same takeover as a
business owner's message or ``POST /handoff`` (:mod:`shared.handoff`), from a shell."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime

from redis.asyncio import Redis

from shared.handoff import Handoffs
from shared.handoff_request import MAX_HANDOFF_SECONDS, conversation_problem
from shared.replicated import ScriptRunner

DEFAULT_SECONDS = 1800.0


def default_seconds() -> float:
    """HANDOFF_SECONDS as the bot and workers read it; ValueError naming it when wrong."""
    raw = os.environ.get("HANDOFF_SECONDS", "").strip()
    if not raw:
        return DEFAULT_SECONDS
    try:
        seconds = float(raw)
    except ValueError:
        raise ValueError(f"HANDOFF_SECONDS={raw!r} is not a number of seconds") from None
    if not 0 <= seconds <= MAX_HANDOFF_SECONDS:
        raise ValueError(f"HANDOFF_SECONDS={raw!r} must be 0 to {MAX_HANDOFF_SECONDS}")
    return seconds


async def hand_off(
    args: argparse.Namespace, redis: Redis, key_ttl_seconds: int, scripts: ScriptRunner
) -> int:
    """The same checks as ``POST /handoff``: an id of a conversation that exists, a
    positive number of seconds; exit status 2 saying what was wrong."""
    handoffs = Handoffs(redis, key_ttl_seconds, scripts)
    if (problem := conversation_problem(args.conversation)) is not None:
        print(f"batchctl: {problem}", file=sys.stderr)
        return 2
    if not args.resume and not await handoffs.known(args.conversation):
        print(
            f"batchctl: no conversation {args.conversation} is known here (nobody wrote in "
            "it lately); batchctl inspect lists the conversations",
            file=sys.stderr,
        )
        return 2
    if args.resume:
        if await handoffs.resume(args.conversation):
            print(f"conversation {args.conversation} handed back: the assistant answers again")
        else:
            print(f"conversation {args.conversation} was not taken over; nothing to resume")
        return 0
    try:
        seconds = args.seconds if args.seconds is not None else default_seconds()
    except ValueError as error:
        print(f"batchctl: {error}", file=sys.stderr)
        return 2
    if not 0 < seconds <= MAX_HANDOFF_SECONDS:
        print(
            f"batchctl: a takeover lasts over 0 and at most {MAX_HANDOFF_SECONDS} seconds "
            "(HANDOFF_SECONDS=0 turns takeover off; give --seconds)",
            file=sys.stderr,
        )
        return 2
    taken = await handoffs.take_over(args.conversation, "batchctl", seconds)
    until = datetime.fromtimestamp(taken.until_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    print(
        f"conversation {args.conversation} taken over until {until}: {taken.held} "
        f"message(s) held for you; {AT_THE_BACKEND[taken.claimed]}"
    )
    return 0


AT_THE_BACKEND = {
    "none": "no batch was at the backend",
    "abandoned": "the batch at the backend is abandoned: its messages are among those held, "
    "and its answer is never sent",
    "halted": "the batch at the backend had begun its answer: nothing more of it is sent",
    "duplicate": "(already taken over)",
}
"""What became of a batch at the backend (``take_over.lua``'s first return), said whole:
its messages are in flight, not pending."""
