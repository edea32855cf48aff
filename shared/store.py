"""The batching protocol over Redis: the bot's intake and the worker's batch steps.

Each method is one atomic Lua script call (``shared/lua``) and one round trip: the bot's
hot path (:meth:`BatchStore.append`) costs one hop per message, or less when many write
at once (:mod:`shared.pipelining`). Proactive messages: :mod:`shared.outbox`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from redis.asyncio import Redis

from shared.arq_layout import ABORT_JOBS, BatchJob, retry_key
from shared.claimed import Abandoned, ClaimedBatch, ClaimOutcome, claimed_batch, refused_field
from shared.history import NO_HISTORY, HistoryRules
from shared.keys import DEAD_LETTERS_INDEX, LEASES, PENDING_INDEX, ConversationKeys, dead_letter_key
from shared.models import BatchResponse, Chat, IncomingMessage, MessageId, Turn, User, to_json
from shared.pipelining import ScriptPipeline
from shared.redaction import NO_SECRETS, Redactor
from shared.redis_scripts import as_text, job_script_call
from shared.replicated import ScriptRunner
from shared.replication import ReplicaWatch
from shared.rules import BatchingRules
from shared.states import AppendResult, ClaimState, Refusal, Released, ScheduleState, Scheduling

__all__ = ["BatchStore", "ClaimOutcome", "ClaimedBatch"]

SEEN_IDS_KEPT = 200
"""Message ids remembered per conversation to drop redelivered updates."""

SEEN_TTL_SECONDS = 86400
"""Telegram keeps an undelivered update for 24 hours, so a redelivery comes within a day."""

EARLY_CLAIM_TOLERANCE_MS = 100
"""A job may claim this much before the deadline (clock skew between worker and Redis)."""


class BatchStore:
    """The batching protocol over one Redis connection pool."""

    def __init__(
        self,
        redis: Redis,
        key_ttl_seconds: int,
        wait_replicas: int = 0,
        redact: Redactor = NO_SECRETS,
        replicas: ReplicaWatch | None = None,
        scripts: ScriptRunner | None = None,
    ) -> None:
        """``redact`` cuts the process's secrets out of what it stores for people to read
        (a dead letter's reason; a backend that repeats an API key in an error).
        ``scripts``: the process's runner, shared by its stores (one view of the replicas)."""
        self.redis = redis
        self.redact = redact
        self.key_ttl_seconds = key_ttl_seconds
        self.wait_replicas = wait_replicas
        self.scripts = scripts or ScriptRunner(redis, wait_replicas, replicas)
        self.replicas = self.scripts.replicas
        self._appends = ScriptPipeline(redis, wait_replicas, self.replicas)

    async def append(
        self,
        conversation: str,
        chat: Chat,
        user: User,
        message: IncomingMessage,
        rules: BatchingRules,
    ) -> AppendResult:
        """Store one message and move (or create) its batch's job by the rules."""
        conversation_keys = ConversationKeys(conversation)
        album_grace_ms = rules.album_grace_ms if message.media_group_id else 0
        keys, args = job_script_call(
            conversation,
            self.key_ttl_seconds,
            [
                conversation_keys.batch,
                conversation_keys.info,
                conversation_keys.inflight,
                PENDING_INDEX,
                conversation_keys.handoff,
                conversation_keys.held,
            ],
            [
                message.message_id,
                to_json(message),
                # The person's own private chat (most are) is rebuilt by the claim.
                "" if chat == Chat(id=user.id, type="private") else to_json(chat),
                to_json(user),
                rules.window_ms_for(message.kind),
                rules.max_wait_ms,
                rules.max_messages,
                SEEN_IDS_KEPT,
                SEEN_TTL_SECONDS,
                rules.max_pending_messages,
                rules.max_pending_bytes,
                rules.max_message_bytes,
                album_grace_ms,
                int(rules.supersede),
            ],
        )
        raw = await self._appends.call(self.scripts.script("append"), keys, args)
        status, pending, deadline, now, detail = (as_text(v) for v in raw)
        return AppendResult(
            duplicate=status == "duplicate",
            pending=int(pending),
            deadline_ms=int(deadline),
            now_ms=int(now),
            scheduling=Scheduling(detail) if status == "stored" else None,
            refused=Refusal(detail) if status == "refused" else None,
        )

    async def schedule(
        self, conversation: str, lease_ms: int = 0, lock_ms: int = 0, job_ended: bool = False
    ) -> tuple[ScheduleState, int]:
        """Give a conversation with pending or claimed work a job; idempotent. With
        ``lease_ms``, a job whose worker died before claiming (its ARQ lock older than the
        lease, ARQ's lock being ``lock_ms`` long) is freed and queued again. With
        ``job_ended``, the worker's run of the job has just ended and the same call ends it
        as ARQ would (its lock, try count and queue entry go) before the next job is made:
        one round trip, and no moment between the two for a crash to fall into."""
        keys = ConversationKeys(conversation)
        raw = await self.scripts.run_job(
            "schedule",
            conversation,
            self.key_ttl_seconds,
            _schedule_keys(keys),
            [lease_ms, lock_ms, 1 if job_ended else 0],
        )
        return ScheduleState(as_text(raw[0])), int(raw[1])

    async def schedule_many(
        self, conversations: Sequence[str], lease_ms: int = 0, lock_ms: int = 0
    ) -> list[tuple[ScheduleState, int]]:
        """:meth:`schedule` for each, in one pipeline: the sweep's hundreds of overdue
        conversations (a backlog waiting for free workers) cost two round trips (the
        pipeline checks its scripts are loaded first), not one each."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for conversation in conversations:
                keys = ConversationKeys(conversation)
                job_keys, job_args = job_script_call(
                    conversation,
                    self.key_ttl_seconds,
                    _schedule_keys(keys),
                    [lease_ms, lock_ms, 0],
                )
                await self.scripts.script("schedule")(keys=job_keys, args=job_args, client=pipe)
            replies = await pipe.execute()
        return [(ScheduleState(as_text(raw[0])), int(raw[1])) for raw in replies]

    async def replace_pending(self, conversation: str, message: IncomingMessage) -> bool:
        """Put an edited message in place of its pending copy; False if it has gone."""
        keys = ConversationKeys(conversation)
        replaced = await self.scripts.run(
            "edit", [keys.batch, keys.info], [message.message_id, to_json(message)]
        )
        return bool(replaced)

    async def remove_pending(self, conversation: str, message_id: MessageId) -> bool:
        """Drop a deleted message's pending copies (an attachment's too); False if none."""
        keys = ConversationKeys(conversation)
        removed = await self.scripts.run("remove", [keys.batch, keys.info], [str(message_id)])
        return bool(removed)

    async def clear(self, conversation: str) -> tuple[int, bool]:
        """Drop pending messages and their job: (messages dropped, a batch still running)."""
        keys = ConversationKeys(conversation)
        dropped, running = await self.scripts.run_job(
            "clear",
            conversation,
            self.key_ttl_seconds,
            [keys.batch, keys.info, keys.inflight, PENDING_INDEX, keys.history],
        )
        return int(dropped), bool(running)

    async def claim(
        self, conversation: str, *, max_messages: int, recheck_after_ms: int, lease_ms: int
    ) -> ClaimOutcome:
        """Take the due messages as one batch with a stable id, or the batch claimed before;
        either way under a new claim token, with a lease of ``lease_ms``."""
        keys = ConversationKeys(conversation)
        raw = await self.scripts.run(
            "claim",
            [
                keys.batch,
                keys.info,
                keys.inflight,
                PENDING_INDEX,
                keys.outbox,
                LEASES,
                BatchJob(conversation).in_progress_key,
                keys.handoff,
                keys.held,
            ],
            [
                conversation,
                uuid.uuid4().hex,
                max_messages,
                recheck_after_ms,
                self.key_ttl_seconds,
                EARLY_CLAIM_TOLERANCE_MS,
                uuid.uuid4().hex,
                lease_ms,
            ],
        )
        state, deadline, now = ClaimState(as_text(raw[0])), int(raw[1]), int(raw[2])
        if state is ClaimState.PAUSE_OVER:
            return ClaimOutcome(state, deadline, now, None, [as_text(v) for v in raw[3:]])
        if state not in (ClaimState.CLAIMED, ClaimState.RESUMED):
            return ClaimOutcome(state, deadline, now, None)
        values = [as_text(v) for v in raw[3:]]
        fields = dict(zip(values[::2], values[1::2], strict=True))
        batch = claimed_batch(conversation, fields, resumed=state is ClaimState.RESUMED)
        return ClaimOutcome(state, deadline, now, batch)

    async def save_answer(self, batch: ClaimedBatch, answer: BatchResponse) -> bool:
        """Store the backend's answer before anything is sent, so a re-run never asks twice.
        Raises Abandoned when the batch was superseded or handed over meanwhile."""
        return await self._update_inflight(batch, "answer", to_json(answer))

    async def mark_sent(self, batch: ClaimedBatch, parts_sent: int) -> bool:
        return await self._update_inflight(batch, "sent", str(parts_sent))

    async def mark_refused(self, batch: ClaimedBatch, part: int, reason: str) -> bool:
        """Part ``part`` (from 1) was refused for good: kept with the batch, so a resumed
        run neither counts it as delivered nor forgets it."""
        reason = self.redact.reason(reason)[:1000]
        return await self._update_inflight(batch, refused_field(part), reason)

    async def _update_inflight(self, batch: ClaimedBatch, field: str, value: str) -> bool:
        keys = ConversationKeys(batch.conversation)
        done = await self.scripts.run(
            "update_inflight", [keys.inflight], [batch.token, field, value]
        )
        if isinstance(done, bytes | str):
            raise Abandoned(batch.batch_id, as_text(done))
        return bool(done)

    async def release(
        self,
        batch: ClaimedBatch,
        dead_letter_reason: str = "",
        remember: Sequence[Turn] = (),
        history: HistoryRules = NO_HISTORY,
    ) -> Released:
        """Drop the claimed batch (or keep it as a dead letter) and index what waits next;
        an answered batch's turns are remembered by the ``history`` rules. Says whether
        proactive messages wait (one round trip fewer than asking). Raises Abandoned (the
        batch released, nothing kept or remembered) when it was abandoned meanwhile."""
        keys = ConversationKeys(batch.conversation)
        done = await self.scripts.run(
            "release",
            [
                keys.inflight,
                keys.batch,
                keys.info,
                PENDING_INDEX,
                dead_letter_key(batch.batch_id),
                DEAD_LETTERS_INDEX,
                LEASES,
                keys.history,
                keys.outbox,
            ],
            [
                batch.conversation,
                batch.batch_id,
                self.redact.reason(dead_letter_reason) if dead_letter_reason else "",
                self.key_ttl_seconds,
                batch.token,
                *history.script_args(remember),
            ],
        )
        if isinstance(done, bytes | str):
            raise Abandoned(batch.batch_id, as_text(done))
        return Released(int(done))

    async def overdue(self, before_ms: int, limit: int) -> list[str]:
        """Conversations whose next step is overdue: candidates for the sweep."""
        raw = await self.redis.zrangebyscore(PENDING_INDEX, "-inf", before_ms, start=0, num=limit)
        return [as_text(member) for member in raw]


def _schedule_keys(keys: ConversationKeys) -> list[str]:
    """``schedule.lua``'s keys, before the job's."""
    own = [keys.batch, keys.info, keys.inflight, PENDING_INDEX, keys.outbox, LEASES]
    job_id = BatchJob(keys.conversation).id
    return [*own, keys.handoff, keys.held, retry_key(job_id), ABORT_JOBS]
