"""The batching protocol over Redis: the bot's intake and the worker's batch steps.

Each method is one atomic Lua script call (``shared/lua``) and one round trip: the bot's
hot path (:meth:`BatchStore.append`) costs one hop per message, or less when many write
at once (:mod:`shared.pipelining`). Proactive messages: :mod:`shared.outbox`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from redis.asyncio import Redis

from shared.arq_layout import BatchJob
from shared.claimed import (
    Abandoned,
    ClaimedBatch,
    ClaimOutcome,
    claim_outcome,
    refused_field,
    streamed_field,
)
from shared.history import NO_HISTORY, HistoryRules
from shared.keys import (
    ANSWERS_WINDOW_MS,
    DEAD_LETTERS_INDEX,
    LEASES,
    MEDIA_QUEUE,
    PENDING_INDEX,
    ConversationKeys,
    dead_letter_key,
)
from shared.models import BatchResponse, Chat, IncomingMessage, MessageId, Turn, User, to_json
from shared.pipelining import ScriptPipeline
from shared.redaction import NO_SECRETS, Redactor
from shared.redis_scripts import as_text
from shared.replicated import ScriptRunner
from shared.replication import ReplicaWatch
from shared.rules import BatchingRules
from shared.script_calls import (
    Append,
    Claim,
    Clear,
    Edit,
    Release,
    Remove,
    Schedule,
    UpdateInflight,
)
from shared.states import AppendResult, Refusal, Released, ScheduleState, Scheduling

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
        """``redact`` cuts secrets out of what it stores for people (a dead letter's reason);
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
        keys = ConversationKeys(conversation)
        call = Append(
            conversation=conversation,
            key_ttl_seconds=self.key_ttl_seconds,
            batch_key=keys.batch,
            info_key=keys.info,
            inflight_key=keys.inflight,
            pending_index=PENDING_INDEX,
            handoff_key=keys.handoff,
            held_key=keys.held,
            message_id=message.message_id,
            message=to_json(message),
            # The person's own private chat (most are) is rebuilt by the claim.
            chat="" if chat == Chat(id=user.id, type="private") else to_json(chat),
            user=to_json(user),
            window_ms=rules.window_ms_for(message.kind),
            max_wait_ms=rules.max_wait_ms,
            max_messages=rules.max_messages,
            seen_kept=SEEN_IDS_KEPT,
            seen_ttl_s=SEEN_TTL_SECONDS,
            max_pending_messages=rules.max_pending_messages,
            max_pending_bytes=rules.max_pending_bytes,
            max_message_bytes=rules.max_message_bytes,
            album_grace_ms=rules.album_grace_ms if message.media_group_id else 0,
            supersede=int(rules.supersede),
            transcribing_key=keys.transcribing,
            media_queue=MEDIA_QUEUE,
            media_item_key=keys.media_item(message.message_id),
            transcription_wait_ms=rules.transcription_wait_ms_for(message.kind),
            prefetch=rules.prefetch_for(message.kind),
            transcription_on=int(rules.transcription_wait_ms > 0),
        )
        raw = await self._appends.call(self.scripts.script(call.script), *call.words())  # batched
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
        raw = await self.scripts.execute(
            Schedule.of(conversation, self.key_ttl_seconds, lease_ms, lock_ms, job_ended)
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
                call = Schedule.of(conversation, self.key_ttl_seconds, lease_ms, lock_ms)
                keys, args = call.words()
                await self.scripts.script(call.script)(keys=keys, args=args, client=pipe)
            replies = await pipe.execute()
        return [(ScheduleState(as_text(raw[0])), int(raw[1])) for raw in replies]

    async def replace_pending(self, conversation: str, message: IncomingMessage) -> bool:
        """Put an edited message in place of its pending copy; False if it has gone."""
        keys = ConversationKeys(conversation)
        call = Edit(
            batch_key=keys.batch,
            info_key=keys.info,
            message_id=message.message_id,
            message=to_json(message),
        )
        return bool(await self.scripts.execute(call))

    async def remove_pending(self, conversation: str, message_id: MessageId) -> bool:
        """Drop a deleted message's pending copies (an attachment's too); False if none."""
        keys = ConversationKeys(conversation)
        call = Remove(batch_key=keys.batch, info_key=keys.info, message_id=str(message_id))
        return bool(await self.scripts.execute(call))

    async def clear(self, conversation: str) -> tuple[int, bool]:
        """Drop pending messages and their job: (messages dropped, a batch still running)."""
        keys = ConversationKeys(conversation)
        dropped, running = await self.scripts.execute(
            Clear(
                conversation=conversation,
                key_ttl_seconds=self.key_ttl_seconds,
                batch_key=keys.batch,
                info_key=keys.info,
                inflight_key=keys.inflight,
                pending_index=PENDING_INDEX,
                history_key=keys.history,
            )
        )
        return int(dropped), bool(running)

    async def claim(
        self, conversation: str, *, max_messages: int, recheck_after_ms: int, lease_ms: int
    ) -> ClaimOutcome:
        """Take the due messages as one batch with a stable id, or the batch claimed before;
        either way under a new claim token, with a lease of ``lease_ms``."""
        keys = ConversationKeys(conversation)
        raw = await self.scripts.execute(
            Claim(
                batch_key=keys.batch,
                info_key=keys.info,
                inflight_key=keys.inflight,
                pending_index=PENDING_INDEX,
                outbox_key=keys.outbox,
                leases=LEASES,
                in_progress_key=BatchJob(conversation).in_progress_key,
                handoff_key=keys.handoff,
                held_key=keys.held,
                answers_key=keys.answers,
                conversation=conversation,
                batch_id=uuid.uuid4().hex,
                max_messages=max_messages,
                recheck_after_ms=recheck_after_ms,
                key_ttl_s=self.key_ttl_seconds,
                early_tolerance_ms=EARLY_CLAIM_TOLERANCE_MS,
                claim_token=uuid.uuid4().hex,
                lease_ms=lease_ms,
                answers_window_ms=ANSWERS_WINDOW_MS,
            )
        )
        return claim_outcome(conversation, [as_text(value) for value in raw])

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

    async def record_streamed(self, batch: ClaimedBatch, part: int, message_id: MessageId) -> bool:
        """Part ``part`` grows in chat message ``message_id``: a resumed run edits it."""
        return await self._update_inflight(batch, streamed_field(part), str(message_id))

    async def _update_inflight(self, batch: ClaimedBatch, field: str, value: str) -> bool:
        keys = ConversationKeys(batch.conversation)
        call = UpdateInflight(
            inflight_key=keys.inflight, claim_token=batch.token, field=field, value=value
        )
        state, abandoned = (as_text(v) for v in await self.scripts.execute(call))
        if state == "abandoned":
            raise Abandoned(batch.batch_id, abandoned)
        return state == "recorded"

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
        call = Release(
            inflight_key=keys.inflight,
            batch_key=keys.batch,
            info_key=keys.info,
            pending_index=PENDING_INDEX,
            dead_letter_key=dead_letter_key(batch.batch_id),
            dead_letters_index=DEAD_LETTERS_INDEX,
            leases=LEASES,
            history_key=keys.history,
            outbox_key=keys.outbox,
            answers_key=keys.answers,
            conversation=batch.conversation,
            batch_id=batch.batch_id,
            dead_reason=self.redact.reason(dead_letter_reason) if dead_letter_reason else "",
            dead_ttl_s=self.key_ttl_seconds,
            claim_token=batch.token,
            answers_window_ms=ANSWERS_WINDOW_MS,
            **history.to_keep(remember),
        )
        state, abandoned, outbox = await self.scripts.execute(call)
        if as_text(abandoned):
            raise Abandoned(batch.batch_id, as_text(abandoned))
        if as_text(state) == "lost":
            return Released.LOST
        return Released.OUTBOX_WAITING if int(outbox) else Released.DONE

    async def overdue(self, before_ms: int, limit: int) -> list[str]:
        """Conversations whose next step is overdue: candidates for the sweep."""
        raw = await self.redis.zrangebyscore(PENDING_INDEX, "-inf", before_ms, start=0, num=limit)
        return [as_text(member) for member in raw]
