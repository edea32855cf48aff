"""A run keeps renewing its batch's lease through a failed renewal: right after a failover
the replicas do not confirm writes for a while (NotReplicated), and a renewal loop that
ended there let the lease lapse mid-run, so another worker sent the same part again (seen
once in ``test_failover``'s two failovers in a row)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import cast

from redis.exceptions import ConnectionError as RedisConnectionError

from shared.claimed import ClaimedBatch
from shared.leases import BatchLeases
from shared.pipelining import NotReplicated
from worker.leasing import lease_kept


class FlakyLeases:
    """Stands in for the store: the first renewals fail as during a failover."""

    def __init__(self, failures: list[Exception]) -> None:
        self.failures = failures
        self.renewals = 0
        self.renewed_after_failures = asyncio.Event()

    async def renew(self, batch: ClaimedBatch, lease_ms: int) -> str:
        self.renewals += 1
        if self.failures:
            raise self.failures.pop(0)
        self.renewed_after_failures.set()
        return "held"


async def test_a_renewal_that_fails_is_tried_again_and_the_lease_is_kept() -> None:
    leases = FlakyLeases([NotReplicated("0 of 1 replica(s) confirmed"), RedisConnectionError()])
    batch = cast(ClaimedBatch, SimpleNamespace(batch_id="b1", conversation="42"))
    abandoned = asyncio.Event()
    async with lease_kept(cast(BatchLeases, leases), batch, 30, abandoned.set):
        await asyncio.wait_for(leases.renewed_after_failures.wait(), timeout=5)
    assert leases.renewals == 3  # two failed, the third renewed it
    assert not abandoned.is_set()
