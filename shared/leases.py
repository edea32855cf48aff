"""Leases on running batches: how a dead or stalled worker's batch is handed over in seconds.

A claim (``claim.lua``) gives the batch a new claim token and a lease in ``batch-leases``,
and holds ARQ's lock on the job for that long only. The run renews both every few
seconds and asks, before each send, whether it still holds the batch (marking the part
as going: ``begin_part.lua``). When a worker dies or stalls, the lock lapses with the
lease and ARQ runs the job again on another worker, which resumes the batch under a new
token; the old run, should it wake up, can neither store, send nor release anything of it.
Without this ARQ re-runs a killed worker's job only once its lock expires: the job
timeout plus 10 s.
"""

from __future__ import annotations

from redis.asyncio import Redis

from shared.arq_layout import BatchJob
from shared.keys import LEASES, PENDING_INDEX, ConversationKeys
from shared.redis_scripts import as_text
from shared.replicated import ScriptRunner
from shared.script_calls import BeginPart, EndLease, Renew
from shared.store import ClaimedBatch


class BatchLeases:
    """Renewing, ending and taking over the leases of claimed batches."""

    def __init__(
        self, redis: Redis, key_ttl_seconds: int, scripts: ScriptRunner | None = None
    ) -> None:
        """``scripts``: the process's runner; a part's mark waits for REDIS_WAIT_REPLICAS
        (a failover that lost it would let a human or a new message come in between)."""
        self.redis = redis
        self.key_ttl_seconds = key_ttl_seconds
        self.scripts = scripts or ScriptRunner(redis)

    async def begin_part(self, batch: ClaimedBatch, number: int) -> str:
        """May part ``number`` go now? 'go' (and it is marked as going), 'lost' (another run
        holds the batch: this one stalled) or why nothing more goes out ('handed_over')."""
        keys = ConversationKeys(batch.conversation)
        call = BeginPart(inflight_key=keys.inflight, claim_token=batch.token, part=number)
        return as_text(await self.scripts.execute(call))

    async def renew(self, batch: ClaimedBatch, lease_ms: int) -> str:
        """Keep the batch this run's for ``lease_ms`` more: 'held', 'lost' once it was taken
        over, or why it was abandoned (its run is to stop and release it)."""
        keys = ConversationKeys(batch.conversation)
        state, abandoned = await self.scripts.execute(
            Renew(
                inflight_key=keys.inflight,
                leases=LEASES,
                in_progress_key=BatchJob(batch.conversation).in_progress_key,
                conversation=batch.conversation,
                claim_token=batch.token,
                lease_ms=lease_ms,
            )
        )
        if as_text(state) == "lost":
            return "lost"
        return as_text(abandoned) or "held"

    async def end(self, batch: ClaimedBatch, retry_in_ms: int) -> None:
        """The run ends with the batch unfinished (a retry is queued): nobody takes it over,
        and the sweep looks at it again when the retry is due."""
        keys = ConversationKeys(batch.conversation)
        await self.scripts.execute(
            EndLease(
                inflight_key=keys.inflight,
                leases=LEASES,
                pending_index=PENDING_INDEX,
                conversation=batch.conversation,
                claim_token=batch.token,
                retry_in_ms=retry_in_ms,
            )
        )
