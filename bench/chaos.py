"""Chaos run: many people typing, several worker processes SIGKILLed at random, and a
backend that fails a share of its calls. Prints what was sent and what came back.

Run: ``.venv/bin/python -m bench.chaos`` (options: ``--help``). It starts its own
redis-server, the sandbox Telegram and backend, the bot and the workers as processes.
The goal is 0 messages lost and 0 replies sent twice.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass

from sandbox.example_backend import ExampleBackend, summarise
from sandbox.launcher import ChildProcess
from sandbox.redis_server import RedisServer
from sandbox.telegram_api import Person, TelegramStandIn
from shared.models import BatchRequest, BatchResponse, OutgoingMessage


@dataclass
class Options:
    people: int
    messages_per_person: int
    workers: int
    kill_every_seconds: float
    failure_rate: float
    seed: int


async def tagged_answer(request: BatchRequest) -> BatchResponse:
    """One reply per batch, carrying the batch id so a duplicate can be recognised."""
    text = summarise(request).messages[0].text
    return BatchResponse(messages=[OutgoingMessage(text=f"[{request.batch_id}] {text}")])


async def person(telegram: TelegramStandIn, who: Person, count: int, rng: random.Random) -> None:
    """Bursts of 1 to 6 messages, then a pause of 1 to 4 s, until ``count`` are sent."""
    sent = 0
    await asyncio.sleep(rng.uniform(0, 5))
    while sent < count:
        for _ in range(min(count - sent, rng.randint(1, 6))):
            await telegram.person_says(who, f"{who.first_name} message {sent}")
            sent += 1
            await asyncio.sleep(rng.uniform(0, 0.3))
        await asyncio.sleep(rng.uniform(1, 4))


async def start_sandbox(
    options: Options,
) -> tuple[RedisServer, TelegramStandIn, ExampleBackend, dict[str, str]]:
    """Redis with AOF, the sandbox Telegram and a failing backend; the processes' environment."""
    redis_server = RedisServer(appendonly=True)
    redis_server.start()
    telegram = TelegramStandIn()
    backend = ExampleBackend(
        answerer=tagged_answer,
        failure_status=503,
        failure_rate=options.failure_rate,
        seed=options.seed,
    )
    await telegram.start()
    await backend.start()
    env = {
        **os.environ,
        "BOT_TOKEN": telegram.token,
        "TELEGRAM_API_URL": telegram.url,
        "REDIS_URL": redis_server.url,
        "BACKEND_URL": backend.url,
        "BOT_METRICS_PORT": "0",  # several processes share this host
        "WORKER_METRICS_PORT": "0",
        "BATCH_WINDOW_SECONDS": "0.5",
        "BATCH_MAX_WAIT_SECONDS": "5",
        "BACKEND_TIMEOUT_SECONDS": "2",
        "TELEGRAM_TIMEOUT_SECONDS": "2",
        "WORKER_JOB_TIMEOUT_SECONDS": "5",
        "BACKEND_RETRY_BASE_SECONDS": "0.2",
        "BACKEND_RETRY_MAX_SECONDS": "1",
        "BACKEND_RETRY_BUDGET_SECONDS": "600",
        "SWEEP_INTERVAL_SECONDS": "1",
    }
    return redis_server, telegram, backend, env


async def run(options: Options) -> None:
    rng = random.Random(options.seed)
    redis_server, telegram, backend, env = await start_sandbox(options)
    worker_command = [sys.executable, "-m", "worker"]
    bot = await ChildProcess.launch([sys.executable, "-m", "bot"], env, b"Run polling")
    workers = [
        await ChildProcess.launch(worker_command, env, b"Starting worker")
        for _ in range(options.workers)
    ]
    people = [Person(id=100_000 + n, first_name=f"P{n}") for n in range(options.people)]
    total = options.people * options.messages_per_person
    kills = 0
    started = time.monotonic()

    processes = [bot, *workers]
    kill_times: list[float] = []
    respawns: set[asyncio.Task[None]] = set()

    async def respawn(slot: int) -> None:
        workers[slot] = await ChildProcess.launch(worker_command, env, b"Starting worker")
        processes.append(workers[slot])

    async def chaos_monkey() -> None:
        nonlocal kills
        while True:
            await asyncio.sleep(rng.uniform(0.5, 1.5) * options.kill_every_seconds)
            alive = [slot for slot, w in enumerate(workers) if w.returncode is None]
            if not alive:
                continue
            victim = rng.choice(alive)
            kill_times.append(time.monotonic())
            await workers[victim].stop(signal.SIGKILL)
            kills += 1
            task = asyncio.create_task(respawn(victim))  # in the background: imports take seconds
            respawns.add(task)
            task.add_done_callback(respawns.discard)

    monkey = asyncio.create_task(chaos_monkey())
    print(f"{options.people} people, {total} messages, {options.workers} workers, "
          f"SIGKILL every ~{options.kill_every_seconds:g}s, backend failing "
          f"{options.failure_rate:.0%} of calls", flush=True)  # fmt: skip
    await asyncio.gather(
        *(
            person(telegram, who, options.messages_per_person, random.Random(rng.random()))
            for who in people
        )
    )
    sending_done = time.monotonic()
    monkey.cancel()
    await asyncio.gather(*respawns)
    try:
        await backend.wait_for_answered_messages(total, timeout_seconds=300)
        await telegram.wait_for_sent(len(backend.calls), timeout_seconds=120)
        await asyncio.sleep(2)  # a straggling duplicate would arrive now
    except TimeoutError:
        print("timed out waiting: the counts below show what is missing", flush=True)
    finished = time.monotonic()
    report(telegram, backend, total, kills)
    explain_duplicates(telegram, kill_times)
    print(f"time: sending {sending_done - started:.1f}s, draining {finished - sending_done:.1f}s")

    await stop_all(processes, telegram, backend, redis_server)


async def stop_all(
    processes: list[ChildProcess],
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis_server: RedisServer,
) -> None:
    for process in processes:
        await process.stop()
    await backend.stop()
    await telegram.stop()
    redis_server.remove()


def report(telegram: TelegramStandIn, backend: ExampleBackend, total: int, kills: int) -> None:

    delivered = Counter(
        (call.request.user.id, m.message_id)
        for call in backend.calls
        for m in call.request.messages
    )
    replies = Counter(text.split("]", 1)[0] for text in (m.text for m in telegram.sent))
    batch_ids = {f"[{call.batch_id}" for call in backend.calls}
    print(f"messages sent                  {total}")
    print(f"messages delivered to backend  {len(delivered)}")
    print(f"  delivered in 2+ batches      {sum(1 for n in delivered.values() if n > 1)}")
    print(f"messages lost                  {total - len(delivered)}")
    print(f"batches answered by backend    {len(backend.calls)}")
    print(f"backend calls failed (503)     {backend.failures}")
    print(f"backend answers replayed       {backend.replayed}")
    print(f"replies sent                   {len(telegram.sent)}")
    print(f"  batches without a reply      {len(batch_ids - set(replies))}")
    print(f"  duplicate replies            {sum(n - 1 for n in replies.values() if n > 1)}")
    print(f"workers SIGKILLed              {kills}")
    print(f"overlapping batches of a person {backend.overlaps}")


def explain_duplicates(telegram: TelegramStandIn, kill_times: list[float]) -> None:
    """For each reply sent twice: how long before the nearest SIGKILL its first copy landed.

    A part whose send was under way when its worker was killed cannot be known as sent
    (Telegram has no idempotency key), so the next run sends it again.
    """
    first_seen: dict[str, float] = {}
    for message in telegram.sent:
        tag = message.text.split("]", 1)[0]
        if tag not in first_seen:
            first_seen[tag] = message.at
            continue
        gaps = [kill - first_seen[tag] for kill in kill_times]
        nearest = min(gaps, key=abs) if gaps else float("nan")
        print(f"  duplicate {tag}]: first copy {nearest * 1000:+.0f} ms before the nearest kill")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--messages-per-person", type=int, default=15)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--kill-every-seconds", type=float, default=2.0)
    parser.add_argument("--failure-rate", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=20261122)
    args = parser.parse_args()
    asyncio.run(run(Options(**vars(args))))


if __name__ == "__main__":
    main()
