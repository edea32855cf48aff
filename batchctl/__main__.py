"""``python -m batchctl dead-letters list|show|replay|purge``: look after failed batches.

Reads ``REDIS_URL`` like the bot and the workers. Replaying puts a batch's messages
back in front of the person's pending messages, due at once, for the workers to send
to the backend again under a new batch id.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from redis.asyncio import Redis

from shared.store import BatchStore, DeadLetter


class ToolSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    redis_url: str = Field(default="redis://localhost:6379/0", pattern=r"^(redis|rediss|unix)://")
    redis_key_ttl_seconds: int = Field(default=7 * 86400, ge=86400)


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _line(letter: DeadLetter) -> str:
    reason = letter.reason if len(letter.reason) <= 80 else letter.reason[:79] + "…"
    count = len(letter.messages)
    return (
        f"{letter.batch_id}  {_when(letter.failed_at_ms)}  conversation {letter.conversation}"
        f"  {count} message(s)  {reason}"
    )


async def _run(args: argparse.Namespace, store: BatchStore) -> int:
    if args.action == "list":
        letters = await store.dead_letters(args.limit)
        for letter in letters:
            print(_line(letter))
        print(f"{len(letters)} dead letter(s)")
        return 0
    if args.action == "purge" and args.all:
        letters = await store.dead_letters(limit=1_000_000)
        for letter in letters:
            await store.purge_dead_letter(letter.batch_id)
        print(f"purged {len(letters)} dead letter(s)")
        return 0
    if not args.batch_id:
        print(f"batchctl: {args.action} needs a batch id (see: dead-letters list)", file=sys.stderr)
        return 2
    if args.action == "show":
        found = await store.dead_letter(args.batch_id)
        if found is None:
            return _missing(args.batch_id)
        json_fields = ("messages", "chat", "user", "answer")
        shown = {k: json.loads(v) if k in json_fields else v for k, v in found.fields.items()}
        print(json.dumps(shown, indent=2, ensure_ascii=False))
        return 0
    if args.action == "replay":
        count = await store.replay_dead_letter(args.batch_id)
        if count is None:
            return _missing(args.batch_id)
        print(f"replayed {args.batch_id}: {count} message(s) queued again, due now")
        return 0
    if await store.purge_dead_letter(args.batch_id):
        print(f"purged {args.batch_id}")
        return 0
    return _missing(args.batch_id)


def _missing(batch_id: str) -> int:
    print(f"batchctl: no dead letter {batch_id!r} (see: dead-letters list)", file=sys.stderr)
    return 1


async def _main(args: argparse.Namespace) -> int:
    settings = ToolSettings()
    redis = Redis.from_url(settings.redis_url)
    try:
        return await _run(args, BatchStore(redis, settings.redis_key_ttl_seconds))
    finally:
        await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(prog="batchctl", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    dead = commands.add_parser("dead-letters", help="batches the backend or Telegram gave up on")
    dead.add_argument("action", choices=["list", "show", "replay", "purge"])
    dead.add_argument("batch_id", nargs="?", help="for show, replay and purge")
    dead.add_argument("--all", action="store_true", help="purge every dead letter")
    dead.add_argument("--limit", type=int, default=100, help="list at most this many")
    sys.exit(asyncio.run(_main(parser.parse_args())))


if __name__ == "__main__":
    main()
