"""Typed access to batchbot's Redis state; each operation is one atomic Lua script call.

The scripts live in ``shared/lua``. Every method here is a single round trip, so the
bot's hot path (:meth:`BatchStore.append`) costs one network hop per message, or a
share of one when many people write at once (:mod:`shared.pipelining`).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from shared import arq_layout
from shared.keys import DEAD_LETTERS_INDEX, PENDING_INDEX, ConversationKeys, dead_letter_key
from shared.models import (
    BatchRequest,
    BatchResponse,
    Chat,
    IncomingMessage,
    OutgoingMessage,
    User,
    to_json,
)
from shared.pipelining import ScriptPipeline
from shared.settings import Limits

SEEN_IDS_KEPT = 200
"""Message ids remembered per conversation to drop redelivered updates."""

SEEN_TTL_SECONDS = 86400
"""Telegram keeps an undelivered update for 24 hours, so a redelivery comes within a day."""

EARLY_CLAIM_TOLERANCE_MS = 100
"""A job may claim this much before the deadline (clock skew between worker and Redis)."""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _load_script(redis: Redis, name: str) -> AsyncScript:
    """A script with ``lua/lib.lua``'s helpers in front (Redis scripts cannot import)."""
    lua = resources.files("shared").joinpath("lua")
    source = lua.joinpath("lib.lua").read_text() + lua.joinpath(f"{name}.lua").read_text()
    return redis.register_script(source)


async def pending_count(redis: Redis, conversation: str) -> int:
    """How many messages of a conversation wait for their batch."""
    count: int = await redis.llen(ConversationKeys(conversation).batch)  # type: ignore[misc]
    return count


async def pending_messages(redis: Redis, conversation: str) -> list[IncomingMessage]:
    """The waiting messages themselves, in message-id order."""
    raw = await redis.lrange(ConversationKeys(conversation).batch, 0, -1)  # type: ignore[misc]
    return [IncomingMessage.model_validate_json(item) for item in raw]


class Scheduling(StrEnum):
    CREATED = "created"
    MOVED = "moved"
    BEHIND_RUNNING = "behind-running"


@dataclass(frozen=True, slots=True)
class AppendResult:
    duplicate: bool
    pending: int
    deadline_ms: int
    now_ms: int
    scheduling: Scheduling | None
    refused: str | None = None
    """Why the message was not stored: message-too-large, too-many-pending(-bytes)."""


@dataclass(frozen=True, slots=True)
class ClaimedBatch:
    """A batch this worker holds: what to send the backend and how far the reply got."""

    conversation: str
    batch_id: str
    request: BatchRequest
    first_at_ms: int
    """When the batch's first message was stored: the start of its wait."""
    deadline_ms: int
    claimed_at_ms: int
    resumed: bool
    answer: BatchResponse | None
    sent: int


@dataclass(frozen=True, slots=True)
class ClaimOutcome:
    """``batch`` is set when there is work; otherwise ``state`` says why not."""

    state: str
    deadline_ms: int
    now_ms: int
    batch: ClaimedBatch | None


class BatchStore:
    """The batching protocol over one Redis connection pool."""

    def __init__(
        self, redis: Redis, key_ttl_seconds: int, *, pipeline_appends: bool = True
    ) -> None:
        self.redis = redis
        self.key_ttl_seconds = key_ttl_seconds
        self._append = _load_script(redis, "append")
        self._appends = ScriptPipeline(redis) if pipeline_appends else None
        self._schedule = _load_script(redis, "schedule")
        self._claim = _load_script(redis, "claim")
        self._update = _load_script(redis, "update_inflight")
        self._release = _load_script(redis, "release")
        self._replay = _load_script(redis, "replay")
        self._clear = _load_script(redis, "clear")
        self._edit = _load_script(redis, "edit")
        self._proactive = _load_script(redis, "proactive")

    async def append(
        self,
        conversation: str,
        chat: Chat,
        user: User,
        message: IncomingMessage,
        *,
        window_ms: int,
        max_wait_ms: int,
        max_messages: int,
        limits: Limits,
        album_grace_ms: int = 0,
    ) -> AppendResult:
        """Store one message; ``album_grace_ms`` holds the batch for an album's next item."""
        keys = ConversationKeys(conversation)
        job_id = arq_layout.batch_job_id(conversation)
        raw = await self._run_append(
            keys=[
                keys.batch,
                keys.info,
                keys.seen,
                keys.inflight,
                PENDING_INDEX,
                *arq_layout.job_keys(job_id),
            ],
            args=[
                conversation,
                message.message_id,
                to_json(message),
                to_json(chat),
                to_json(user),
                window_ms,
                max_wait_ms,
                max_messages,
                self.key_ttl_seconds,
                job_id,
                arq_layout.batch_job_payload(conversation),
                SEEN_IDS_KEPT,
                SEEN_TTL_SECONDS,
                limits.max_pending_messages,
                limits.max_pending_bytes,
                limits.max_message_bytes,
                album_grace_ms if message.media_group_id else 0,
            ],
        )
        status, pending, deadline, now, detail = (_text(v) for v in raw)
        stored = status == "stored"
        return AppendResult(
            duplicate=status == "duplicate",
            pending=int(pending),
            deadline_ms=int(deadline),
            now_ms=int(now),
            scheduling=Scheduling(detail) if stored else None,
            refused=detail if status == "refused" else None,
        )

    async def _run_append(self, keys: list[str], args: list[Any]) -> Any:
        if self._appends is None:  # one call per message: the benchmark's comparison
            return await self._append(keys=keys, args=args)
        return await self._appends.call(self._append, keys, args)

    async def schedule(self, conversation: str) -> tuple[str, int]:
        """Give a conversation with pending or claimed work a job; idempotent."""
        keys = ConversationKeys(conversation)
        job_id = arq_layout.batch_job_id(conversation)
        raw = await self._schedule(
            keys=[
                keys.batch,
                keys.info,
                keys.inflight,
                PENDING_INDEX,
                *arq_layout.job_keys(job_id),
                keys.outbox,
            ],
            args=[
                conversation,
                job_id,
                arq_layout.batch_job_payload(conversation),
                self.key_ttl_seconds,
            ],
        )
        return _text(raw[0]), int(raw[1])

    async def queue_proactive(self, conversation: str, messages: list[OutgoingMessage]) -> str:
        """Queue messages for the conversation's job to send; returns how they were scheduled."""
        keys = ConversationKeys(conversation)
        job_id = arq_layout.batch_job_id(conversation)
        raw = await self._proactive(
            keys=[
                keys.outbox,
                keys.inflight,
                PENDING_INDEX,
                *arq_layout.job_keys(job_id),
            ],
            args=[
                conversation,
                job_id,
                arq_layout.batch_job_payload(conversation),
                self.key_ttl_seconds,
                *(to_json(message) for message in messages),
            ],
        )
        return _text(raw[0])

    async def outbox_head(self, conversation: str) -> tuple[OutgoingMessage, int] | None:
        """The next proactive message and how many of its parts were sent already."""
        keys = ConversationKeys(conversation)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.lindex(keys.outbox, 0)
            pipe.get(keys.outbox_progress)
            head, progress = await pipe.execute()
        if head is None:
            return None
        return OutgoingMessage.model_validate_json(head), int(progress or 0)

    async def mark_outbox_sent(self, conversation: str, parts_sent: int, done: bool) -> None:
        """Record delivered parts; when the message is done, drop it from the outbox."""
        keys = ConversationKeys(conversation)
        async with self.redis.pipeline(transaction=True) as pipe:
            if done:
                pipe.lpop(keys.outbox)
                pipe.delete(keys.outbox_progress)
            else:
                pipe.set(keys.outbox_progress, parts_sent, ex=self.key_ttl_seconds)
            await pipe.execute()

    async def replace_pending(self, conversation: str, message: IncomingMessage) -> bool:
        """Put an edited message in place of its pending copy; False if it has gone."""
        keys = ConversationKeys(conversation)
        replaced = await self._edit(
            keys=[keys.batch, keys.info], args=[message.message_id, to_json(message)]
        )
        return bool(replaced)

    async def clear(self, conversation: str) -> tuple[int, bool]:
        """Drop pending messages and their job: (messages dropped, a batch still running)."""
        keys = ConversationKeys(conversation)
        job_id = arq_layout.batch_job_id(conversation)
        dropped, running = await self._clear(
            keys=[
                keys.batch,
                keys.info,
                keys.inflight,
                PENDING_INDEX,
                *arq_layout.job_keys(job_id),
            ],
            args=[conversation, job_id],
        )
        return int(dropped), bool(running)

    async def claim(
        self, conversation: str, *, max_messages: int, recheck_after_ms: int
    ) -> ClaimOutcome:
        keys = ConversationKeys(conversation)
        raw = await self._claim(
            keys=[keys.batch, keys.info, keys.inflight, PENDING_INDEX, keys.outbox],
            args=[
                conversation,
                uuid.uuid4().hex,
                max_messages,
                recheck_after_ms,
                self.key_ttl_seconds,
                EARLY_CLAIM_TOLERANCE_MS,
            ],
        )
        state, deadline, now = _text(raw[0]), int(raw[1]), int(raw[2])
        if state not in ("claimed", "resumed"):
            return ClaimOutcome(state, deadline, now, None)
        values = [_text(v) for v in raw[3:]]
        fields = dict(zip(values[::2], values[1::2], strict=True))
        messages = [IncomingMessage.model_validate(m) for m in json.loads(fields["messages"])]
        request = BatchRequest.build(
            batch_id=fields["batch_id"],
            chat=Chat.model_validate_json(fields["chat"]),
            user=User.model_validate_json(fields["user"]),
            messages=messages,
        )
        answer = fields.get("answer")
        batch = ClaimedBatch(
            conversation=conversation,
            batch_id=fields["batch_id"],
            request=request,
            first_at_ms=int(fields.get("first_at", fields["claimed_at"])),
            deadline_ms=int(fields["deadline"]),
            claimed_at_ms=int(fields["claimed_at"]),
            resumed=state == "resumed",
            answer=BatchResponse.model_validate_json(answer) if answer else None,
            sent=int(fields["sent"]),
        )
        return ClaimOutcome(state, deadline, now, batch)

    async def save_answer(self, batch: ClaimedBatch, answer: BatchResponse) -> bool:
        """Store the backend's answer before anything is sent, so a re-run never asks twice."""
        return await self._update_inflight(batch, "answer", to_json(answer))

    async def mark_sent(self, batch: ClaimedBatch, parts_sent: int) -> bool:
        return await self._update_inflight(batch, "sent", str(parts_sent))

    async def _update_inflight(self, batch: ClaimedBatch, field: str, value: str) -> bool:
        keys = ConversationKeys(batch.conversation)
        done = await self._update(keys=[keys.inflight], args=[batch.batch_id, field, value])
        return bool(done)

    async def release(self, batch: ClaimedBatch, dead_letter_reason: str = "") -> bool:
        """Drop the claimed batch (or keep it as a dead letter) and index what waits next."""
        keys = ConversationKeys(batch.conversation)
        done = await self._release(
            keys=[
                keys.inflight,
                keys.batch,
                keys.info,
                PENDING_INDEX,
                dead_letter_key(batch.batch_id),
                DEAD_LETTERS_INDEX,
            ],
            args=[batch.conversation, batch.batch_id, dead_letter_reason, self.key_ttl_seconds],
        )
        return bool(done)

    async def overdue(self, before_ms: int, limit: int) -> list[str]:
        """Conversations whose next step is overdue: candidates for the sweep."""
        raw = await self.redis.zrangebyscore(PENDING_INDEX, "-inf", before_ms, start=0, num=limit)
        return [_text(member) for member in raw]

    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """The newest dead letters first."""
        raw = await self.redis.zrevrange(DEAD_LETTERS_INDEX, 0, limit - 1)
        letters = [await self.dead_letter(_text(batch_id)) for batch_id in raw]
        return [letter for letter in letters if letter is not None]

    async def dead_letter(self, batch_id: str) -> DeadLetter | None:
        raw = await self.redis.hgetall(dead_letter_key(batch_id))  # type: ignore[misc]
        if not raw:
            return None
        fields = {_text(k): _text(v) for k, v in raw.items()}
        return DeadLetter(fields)

    async def replay_dead_letter(self, batch_id: str) -> int | None:
        """Queue a dead letter's messages again, due at once; None if there is no such letter."""
        letter = await self.dead_letter(batch_id)
        if letter is None:
            return None
        keys = ConversationKeys(letter.conversation)
        pairs: list[str | int] = []
        for message in letter.messages:
            pairs += [message.message_id, to_json(message)]
        replayed = int(
            await self._replay(
                keys=[
                    dead_letter_key(batch_id),
                    DEAD_LETTERS_INDEX,
                    keys.batch,
                    keys.info,
                    PENDING_INDEX,
                ],
                args=[
                    batch_id,
                    letter.conversation,
                    self.key_ttl_seconds,
                    letter.fields["chat"],
                    letter.fields["user"],
                    *pairs,
                ],
            )
        )
        if replayed < 0:
            return None
        await self.schedule(letter.conversation)
        return replayed

    async def purge_dead_letter(self, batch_id: str) -> bool:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(dead_letter_key(batch_id))
            pipe.zrem(DEAD_LETTERS_INDEX, batch_id)
            deleted, _ = await pipe.execute()
        return bool(deleted)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A batch kept after the backend or Telegram gave up on it, with the reason."""

    fields: dict[str, str]

    @property
    def batch_id(self) -> str:
        return self.fields["batch_id"]

    @property
    def conversation(self) -> str:
        return self.fields["conversation"]

    @property
    def reason(self) -> str:
        return self.fields.get("reason", "")

    @property
    def failed_at_ms(self) -> int:
        return int(self.fields.get("failed_at", 0))

    @property
    def messages(self) -> list[IncomingMessage]:
        return [IncomingMessage.model_validate(m) for m in json.loads(self.fields["messages"])]
