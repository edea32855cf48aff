"""Recording what was already sent: through a Redis outage or a failover, and never cut
off between the send and its record.

Once a message has gone out, the mark saying so is the only thing that keeps a re-run
from sending it again. A mark that fails because Redis is away (or its replicas do not
confirm yet after a failover) is therefore tried again, not given up: giving up ended
the run, the lease with it, and another worker sent the same part a second time (seen
in ``test_failover``'s two failovers in a row). The run's lease is renewed meanwhile, so
nobody else takes the batch while the mark waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.exceptions import RedisError

log = logging.getLogger("batchbot.worker")

T = TypeVar("T")

RECORD_PATIENCE_SECONDS = 60.0
"""How long a mark is tried again: a Sentinel failover takes seconds; past this the
error goes up and the batch is resumed as after a crash (the part may go twice)."""

FIRST_PAUSE_SECONDS = 0.1
LONGEST_PAUSE_SECONDS = 2.0


async def recorded(
    write: Callable[[], Awaitable[T]],
    what: str,
    patience_seconds: float = RECORD_PATIENCE_SECONDS,
) -> T:
    """``write()``'s answer, tried again while Redis cannot take it; ``what`` names the
    mark in the one log line said when it first fails."""
    loop = asyncio.get_running_loop()
    give_up_at = loop.time() + patience_seconds
    pause = FIRST_PAUSE_SECONDS
    while True:
        try:
            return await write()
        except (RedisError, OSError) as error:
            if loop.time() + pause > give_up_at:
                raise
            if pause == FIRST_PAUSE_SECONDS:
                log.warning("%s not recorded yet (%s); trying again until it is", what, error)
            await asyncio.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE_SECONDS)


async def unsplittable(step: Callable[[], Awaitable[T]]) -> T:
    """Run a send-and-record step to its end even if the job is cancelled meanwhile.

    SIGTERM and job timeouts cancel the job; landing between a delivered message and
    its record would make the re-run send that message again.
    """
    running = asyncio.ensure_future(step())
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await running
        raise
