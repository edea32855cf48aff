"""Holding a batch's lease while its run works on it (see :mod:`shared.leases`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from redis.exceptions import RedisError

from shared.claimed import Abandoned, ClaimedBatch
from shared.leases import BatchLeases
from worker.delivery import ClaimLost

log = logging.getLogger("batchbot.worker")


@contextlib.asynccontextmanager
async def lease_kept(
    leases: BatchLeases,
    batch: ClaimedBatch,
    lease_ms: int,
    on_abandoned: Callable[[], None],
) -> AsyncIterator[None]:
    """Renew the batch's lease while the block runs; a renewal that finds the batch
    abandoned calls ``on_abandoned``. Leaving the block by an error ends the lease (a
    block that ends for a retry ends it itself, with the retry's delay): only a dead
    worker's batch is taken over, never one that waits to run again."""

    async def renew() -> None:
        while True:
            await asyncio.sleep(lease_ms / 3000)
            try:
                state = await leases.renew(batch, lease_ms)
            except (RedisError, OSError) as error:
                # Redis away, or its replicas short after a failover (NotReplicated: the
                # primary has the renewal). A renewal loop that ended here let the lease
                # lapse mid-run, and another worker sent the same part again.
                log.info("batch %s: lease not renewed (%s); again in %.1fs",
                         batch.batch_id, error, lease_ms / 3000)  # fmt: skip
                continue
            if state == "lost":
                return  # taken over: the next write or send of this run finds out
            if state != "held":
                on_abandoned()

    renewing = asyncio.create_task(renew())
    try:
        yield
    except BaseException as error:
        if not isinstance(error, (ClaimLost, Abandoned)):
            with contextlib.suppress(Exception):
                await leases.end(batch, 0)
        raise
    finally:
        renewing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewing
