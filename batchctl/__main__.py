"""``python -m batchctl``: look into batchbot's Redis and look after failed batches.

``console`` serves a live page of all of it (``batchctl.console``).
``inspect [conversation]`` shows what is pending, in flight and dead-lettered (read
only). ``handoff <conversation> [--seconds N | --resume]`` has a human take the
conversation over (the assistant answers nothing meanwhile), or hands it back.
``dead-letters list|show|replay|purge`` handles failed batches: replaying puts
a batch's messages back in front of the person's pending messages, due at once, for
the workers to send to the backend again under a new batch id.

Reads ``REDIS_URL`` (and ``REDIS_TLS_CA_FILE``) like the bot and the workers.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from redis.exceptions import RedisError

from batchctl.console_command import DEFAULT_PORT, run_console
from batchctl.console_tenants import ConsoleTenants
from batchctl.handoff_command import hand_off
from batchctl.inspect import Overview, conversation_detail, overview
from shared.dead_letters import DeadLetter, DeadLetters
from shared.keys import channel_of
from shared.logs import describe
from shared.outbox import undelivered
from shared.pipelining import NotReplicated
from shared.redaction import Redactor, tool_redactor
from shared.redis_connection import redis_address, redis_client
from shared.replicated import ScriptRunner
from shared.settings import RedisConnectionSettings, load_settings


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _line(letter: DeadLetter) -> str:
    reason = letter.reason if len(letter.reason) <= 120 else letter.reason[:119] + "…"
    count = len(letter.messages)
    tenant = f"tenant {letter.tenant} " if letter.tenant else ""
    return (
        f"{letter.batch_id}  {_when(letter.failed_at_ms)}  {tenant}"
        f"{channel_of(letter.conversation)} conversation {letter.conversation}"
        f"  {count} message(s)  {reason}"
    )


def _ago(now_ms: int, at_ms: int) -> str:
    seconds = (now_ms - at_ms) / 1000
    return f"{seconds:.1f}s ago" if seconds >= 0 else f"in {-seconds:.1f}s"


def _print_overview(view: Overview) -> None:
    print(f"{view.conversations} conversation(s) with pending or claimed messages")
    if view.shown:
        head = ("channel", "conversation", "next step", "msgs", "bytes", "first msg")
        print(
            f"  {head[0]:<8} {head[1]:<32} {head[2]:>12} {head[3]:>5} {head[4]:>8} "
            f"{head[5]:>12}  state"
        )
    for line in view.shown:
        first = _ago(view.now_ms, line.first_at_ms) if line.first_at_ms else "-"
        if line.paused_until_ms is not None:
            state = (
                f"taken over ({line.paused_by}) until {_when(line.paused_until_ms)}, "
                f"{line.held_messages} held"
            )
            if line.inflight_batch:
                state += f"; batch {line.inflight_batch} in flight, nothing more of it is sent"
        elif line.held_messages:
            state = f"pause over: {line.held_messages} held message(s) to hand on"
        elif line.inflight_batch:
            state = f"in flight: batch {line.inflight_batch}, {line.parts_sent} part(s) sent"
        elif line.job_run_at_ms is not None:
            state = "waiting; job queued"
        else:
            state = "waiting; no job (the sweep will give it one)"
        print(
            f"  {channel_of(line.conversation):<8} {line.conversation:<32} "
            f"{_ago(view.now_ms, line.next_step_ms):>12} "
            f"{line.pending_messages:>5} {line.pending_bytes:>8} {first:>12}  {state}"
        )
    if len(view.shown) < view.conversations:
        print(f"  ... {view.conversations - len(view.shown)} more (--limit)")
    print(f"{view.in_flight} batch(es) in flight")
    print(f"{view.dead_letters} dead letter(s) (see: dead-letters list)")


async def _inspect(args: argparse.Namespace, letters: DeadLetters) -> int:
    if args.conversation is None:
        _print_overview(await overview(letters.redis, args.limit))
        return 0
    detail = await conversation_detail(letters.redis, args.conversation)
    if detail is None:
        print(
            f"batchctl: nothing stored for conversation {args.conversation!r} "
            "(a user id, or <chat id>:<user id> in a group; see: inspect)",
            file=sys.stderr,
        )
        return 1
    tenant = ConsoleTenants.of_environment().tenant_of(args.conversation)
    if tenant is not None:
        detail = {"tenant": tenant, **detail}
    print(json.dumps(detail, indent=2, ensure_ascii=False))
    return 0


def _undelivered_line(entry: dict[str, Any]) -> str:
    message = entry.get("message", {})
    words = message.get("text") or message.get("photo") or ""
    words = words if len(words) <= 40 else words[:39] + "…"
    return (
        f"{_when(entry['failed_at'])}  {channel_of(entry['conversation'])} conversation "
        f"{entry['conversation']}  {words!r}  {entry['reason']}"
    )


async def _undelivered(args: argparse.Namespace, letters: DeadLetters) -> int:
    entries = await undelivered(letters.redis, args.limit)
    for entry in entries:
        print(_undelivered_line(entry))
    print(f"{len(entries)} undelivered proactive message(s)")
    return 0


async def _run(args: argparse.Namespace, letters: DeadLetters) -> int:
    if args.command == "handoff":
        return await hand_off(args, letters.redis, letters.key_ttl_seconds, letters.scripts)
    if args.command == "inspect":
        return await _inspect(args, letters)
    if args.command == "undelivered":
        return await _undelivered(args, letters)
    return await _dead_letters(args, letters)


async def _dead_letters(args: argparse.Namespace, letters: DeadLetters) -> int:
    if args.action == "list":
        newest = await letters.newest(args.limit)
        for letter in newest:
            print(_line(letter))
        print(f"{len(newest)} dead letter(s)")
        return 0
    if args.action == "purge" and args.all:
        every = await letters.newest(limit=1_000_000)
        for letter in every:
            await letters.purge(letter.batch_id)
        print(f"purged {len(every)} dead letter(s)")
        return 0
    if not args.batch_id:
        print(f"batchctl: {args.action} needs a batch id (see: dead-letters list)", file=sys.stderr)
        return 2
    if args.action == "show":
        found = await letters.get(args.batch_id)
        if found is None:
            return _missing(args.batch_id)
        json_fields = ("messages", "chat", "user", "answer")
        shown = {k: json.loads(v) if k in json_fields else v for k, v in found.fields.items()}
        print(json.dumps(shown, indent=2, ensure_ascii=False))
        return 0
    if args.action == "replay":
        count = await letters.replay(args.batch_id)
        if count is None:
            return _missing(args.batch_id)
        print(f"replayed {args.batch_id}: {count} message(s) queued again, due now")
        return 0
    if await letters.purge(args.batch_id):
        print(f"purged {args.batch_id}")
        return 0
    return _missing(args.batch_id)


def _missing(batch_id: str) -> int:
    print(f"batchctl: no dead letter {batch_id!r} (see: dead-letters list)", file=sys.stderr)
    return 1


class _RedactedOutput(io.TextIOBase):
    """Standard output with every secret batchctl can know cut out: a dead letter stored by
    an older worker may still hold a key its provider repeated."""

    def __init__(self, out: TextIO, redact: Redactor) -> None:
        self._out, self._redact = out, redact

    def write(self, text: str) -> int:
        self._out.write(self._redact(text))
        return len(text)

    def flush(self) -> None:
        self._out.flush()


async def _main(args: argparse.Namespace) -> int:
    settings = load_settings(RedisConnectionSettings)
    redact = tool_redactor(settings)
    stdout = sys.stdout
    sys.stdout = _RedactedOutput(stdout, redact)
    redis = redis_client(settings)
    try:
        scripts = ScriptRunner(redis, settings.redis_wait_replicas)  # an operator's writes too
        return await _run(args, DeadLetters(redis, settings.redis_key_ttl_seconds, scripts))
    except BrokenPipeError:
        # The reader went away (`| head -1`): what it wanted was written; nothing to report.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stdout.fileno())
        return 0
    except NotReplicated as error:
        print(
            f"batchctl: not done for good: {error}; the replicas did not confirm it "
            "(REDIS_WAIT_REPLICAS), so a failover could lose it: run it again",
            file=sys.stderr,
        )
        return 1
    except (RedisError, OSError) as error:
        print(
            f"batchctl: REDIS_URL {redis_address(settings)} cannot be reached "
            f"({describe(error, 0)}); check the address and that Redis is running",
            file=sys.stderr,
        )
        return 1
    finally:
        await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(prog="batchctl", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    inspect = commands.add_parser("inspect", help="pending, in-flight and dead-lettered batches")
    inspect.add_argument("conversation", nargs="?", help="show one conversation in full")
    inspect.add_argument("--limit", type=int, default=50, help="list at most this many")
    dead = commands.add_parser("dead-letters", help="batches the backend or Telegram gave up on")
    dead.add_argument("action", choices=["list", "show", "replay", "purge"])
    dead.add_argument("batch_id", nargs="?", help="for show, replay and purge")
    dead.add_argument("--all", action="store_true", help="purge every dead letter")
    dead.add_argument("--limit", type=int, default=100, help="list at most this many")
    handoff = commands.add_parser(
        "handoff", help="a human takes a conversation over (or, --resume, hands it back)"
    )
    handoff.add_argument("conversation", help="as inspect shows it, e.g. 1001 or wa:<n>:<wa_id>")
    when = handoff.add_mutually_exclusive_group()
    when.add_argument("--seconds", type=float, help="how long; default HANDOFF_SECONDS (1800)")
    when.add_argument("--resume", action="store_true", help="hand the conversation back now")
    lost = commands.add_parser(
        "undelivered", help="proactive messages the person could not be sent, with why"
    )
    lost.add_argument("--limit", type=int, default=100, help="list at most this many")
    console = commands.add_parser("console", help="a live page: pending, in flight, dead letters")
    console.add_argument("--host", default="127.0.0.1", help="address to serve on")
    console.add_argument("--port", type=int, default=DEFAULT_PORT, help="0: any free port")
    args = parser.parse_args()
    if args.command == "console":
        sys.exit(asyncio.run(run_console(args.host, args.port)))
    sys.exit(asyncio.run(_main(args)))


if __name__ == "__main__":
    main()
