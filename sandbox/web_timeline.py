"""What happens to each simulated person's messages, as events for the browser demo.

The events come from where they really happen: what each channel's stand-in was asked
(typing, drafts, each reply part), what the example backend received (the exact JSON)
and answered, and what Redis holds for the person (messages stored, the batch's
deadline, the batch claimed, dead letters). Redis has no event for a changed hash, so
a watcher reads it every 50 ms: a few commands per person, nothing for a demo.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from typing import Any

from redis.asyncio import Redis

from sandbox.web_people import StandIns
from sandbox.web_voice import HeardNotes
from shared.keys import ABANDONED_CHANNEL, DEAD_LETTERS_INDEX, ConversationKeys, dead_letter_key
from shared.redis_scripts import as_text

WATCH_INTERVAL_SECONDS = 0.05
log = logging.getLogger("batchbot.sandbox")


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    seq: int
    person: int
    kind: str
    """sent, edited, owner, stored, deadline, claimed, abandoned, paused, resumed, backend,
    backend-answer, typing, draft, reply, dead-letter, done"""
    at_ms: int
    data: dict[str, Any]


@dataclass
class _Seen:
    """The last state read of one person, to tell what changed."""

    conversation: str
    pending: int = 0
    deadline_ms: int | None = None
    batch_id: str | None = None
    abandoned: str | None = None
    paused_by: str | None = None
    last_reply_at: float | None = None


@dataclass
class Timeline:
    stand_ins: StandIns
    redis: Redis
    events: list[TimelineEvent] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._changed = asyncio.Condition()
        self._people: dict[int, _Seen] = {}
        self._by_address: dict[str, int] = {}
        """The person as the platform and the backend know them (chat id, wa_id, IGSID)."""
        self._by_conversation: dict[str, int] = {}
        self._by_message: dict[str, int] = {}
        """Whose message an id is: WhatsApp marks a message read, not a chat."""
        self._read_so_far: dict[str, int] = {}
        self._dead_letters_seen: set[str] = set()
        self._reading = asyncio.Lock()
        self._closed = False
        self._asked_at: dict[str, float] = {}
        self._pending_backend: list[tuple[int, str, dict[str, Any]]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.notes = HeardNotes()

    def watch(self, person: int, conversation: str, address: str) -> None:
        self._people.setdefault(person, _Seen(conversation))
        self._by_address[address] = person
        self._by_conversation[conversation] = person

    def add(self, person: int, kind: str, **data: Any) -> None:
        at_ms = int(time.time() * 1000)
        if kind == "sent":
            self._by_message[str(data.get("message_id"))] = person
        self.events.append(TimelineEvent(len(self.events), person, kind, at_ms, data))
        self._tasks.add(task := asyncio.get_running_loop().create_task(self._notify()))
        task.add_done_callback(self._tasks.discard)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def stream(self) -> AsyncIterator[dict[str, Any]]:
        """Every event so far, then each new one as it happens, until :meth:`close`."""
        sent = 0
        while not self._closed:
            async with self._changed:
                await self._changed.wait_for(functools.partial(self._more_than, sent))
            for event in self.events[sent:]:
                yield asdict(event)
            sent = len(self.events)

    async def close(self) -> None:
        """End every stream: a page left open must not hold the demo's shutdown."""
        self._closed = True
        await self._notify()

    def _more_than(self, count: int) -> bool:
        return self._closed or len(self.events) > count

    def backend_exchange(self, body: bytes, status: int | None) -> None:
        """The example backend's report: the exact JSON the worker sent (status None), then
        the status it answered. Redis is read first, so the claim shows before the call."""
        request = json.loads(body)
        person, batch_id = self._by_address.get(str(request["user"]["id"])), request["batch_id"]
        if person is None:
            return
        if status is not None:
            asked_at = self._asked_at.pop(batch_id, time.monotonic())
            seconds = round(time.monotonic() - asked_at, 2)
            answered = {"batch_id": batch_id, "status": status, "seconds": seconds}
            self._pending_backend.append((person, "backend-answer", answered))
        else:
            self._asked_at[batch_id] = time.monotonic()
            text = json.dumps(request, indent=2, ensure_ascii=False)
            asked = {"batch_id": batch_id, "messages": len(request["messages"]), "json": text}
            self._pending_backend.append((person, "backend", asked))
        self._tasks.add(task := asyncio.get_running_loop().create_task(self._look()))
        task.add_done_callback(self._tasks.discard)

    async def _look(self) -> None:
        """Read Redis and the Bot API now, then report what the backend was asked."""
        await self._read_all()
        while self._pending_backend:
            person, kind, data = self._pending_backend.pop(0)
            self.add(person, kind, **data)

    async def hear_abandoned_forever(self) -> None:
        """A batch abandoned (superseded, or taken over) is released within milliseconds,
        too soon for a read of its hash: the scripts' announcement on ``batches-abandoned``
        says which conversation and why."""
        async with self.redis.pubsub(ignore_subscribe_messages=True) as pubsub:
            await pubsub.subscribe(ABANDONED_CHANNEL)
            async for message in pubsub.listen():
                conversation, _, why = as_text(message["data"]).partition(" ")
                person = self._by_conversation.get(conversation)
                if person is not None:
                    seen = self._people[person]
                    seen.abandoned = seen.batch_id  # its end is no "done": nothing was sent
                    self.add(person, "abandoned", batch_id=seen.batch_id or "", why=why)

    async def watch_forever(self) -> None:
        while True:
            try:
                await self._read_all()
            except Exception:  # a demo keeps going; the next read retries
                log.exception("reading what happened failed; trying again")
            await asyncio.sleep(WATCH_INTERVAL_SECONDS)

    async def _read_all(self) -> None:
        """Redis, then the Bot API, then what Redis said was finished: a batch is done only
        after its last part was sent, so its end shows after that part."""
        async with self._reading:  # one reader at a time, or a change would show twice
            finished = await self._read_redis()
            for person, kind, data in await self.notes.read(self.redis):
                self.add(person, kind, **data)
            self._read_replies()
            for person, batch_id in finished:
                self.add(person, "done", batch_id=batch_id)
                # The pause before a part is measured within one answer: what is sent after
                # this batch (the next answer, a /start reply) has no previous part.
                self._people[person].last_reply_at = None

    def _new(self, name: str, items: list[Any]) -> list[Any]:
        """The items of one stand-in list not read before."""
        start = self._read_so_far.get(name, 0)
        self._read_so_far[name] = len(items)
        return items[start:]

    def _read_replies(self) -> None:
        telegram, whatsapp = self.stand_ins.telegram, self.stand_ins.whatsapp
        for action in self._new("telegram-actions", telegram.chat_actions):
            self._typing(str(action.chat_id), action.action)
        for draft in self._new("telegram-drafts", telegram.drafts):
            if (person := self._by_address.get(str(draft.chat_id))) is not None:
                self.add(
                    person, "draft", text=draft.text, reasoning=draft.reasoning,
                    draft_id=draft.draft_id, can_stop=draft.can_stop,
                )  # fmt: skip
        for sent in self._new("telegram-sent", telegram.sent):
            self._reply(str(sent.chat_id), sent.at, sent.text, sent.photo, sent.message_id)
        for typing in self._new("whatsapp-typing", whatsapp.typing):
            if typing.typing and (person := self._by_message.get(typing.message_id)) is not None:
                self.add(person, "typing", action="typing")
        for wa in self._new("whatsapp-sent", whatsapp.sent):
            self._reply(wa.to, wa.at, wa.text, wa.image, wa.wamid)
        for stand_in in (self.stand_ins.instagram, self.stand_ins.messenger):
            name = stand_in.shape.channel
            for to, action in self._new(f"{name}-actions", stand_in.actions):
                if action == "typing_on":
                    self._typing(to, "typing")
            for meta in self._new(f"{name}-sent", stand_in.sent):
                self._reply(meta.to, meta.at, meta.text, meta.image, meta.mid)

    def _typing(self, address: str, action: str) -> None:
        if (person := self._by_address.get(address)) is not None:
            self.add(person, "typing", action=action)

    def _reply(
        self, address: str, at: float, text: str, photo: str | None, message_id: object
    ) -> None:
        person = self._by_address.get(address)
        if person is None:
            return
        seen = self._people[person]
        gap = None if seen.last_reply_at is None else at - seen.last_reply_at
        seen.last_reply_at = at
        self.add(
            person,
            "reply",
            text=text,
            photo=photo,
            message_id=message_id,
            seconds_after_previous=round(gap, 2) if gap is not None else None,
        )

    async def _read_redis(self) -> list[tuple[int, str]]:
        people = list(self._people.items())
        async with self.redis.pipeline(transaction=False) as pipe:
            for person, _ in people:
                keys = ConversationKeys(self._people[person].conversation)
                pipe.llen(keys.batch)
                pipe.hget(keys.info, "deadline")
                pipe.hmget(keys.inflight, ["batch_id", "messages"])
                pipe.hmget(keys.handoff, ["source", "until"])
            pipe.zrevrange(DEAD_LETTERS_INDEX, 0, 9)
            replies = await pipe.execute()
        finished = []
        for index, (person, seen) in enumerate(people):
            pending, deadline, inflight, handoff = replies[index * 4 : index * 4 + 4]
            batch_id, messages = inflight
            done = self._compare(person, seen, int(pending), deadline, batch_id, messages)
            self._compare_handover(person, seen, handoff)
            if done is not None:
                finished.append((person, done))
        await self._read_dead_letters([as_text(b) for b in replies[-1]])
        return finished

    def _compare(
        self, person: int, seen: _Seen, pending: int, deadline: Any, batch_id: Any, messages: Any
    ) -> str | None:
        """Add what changed; the id of a batch that has just finished, if one did."""
        finished = None
        deadline_ms = int(deadline) if deadline is not None else None
        if batch_id is not None and as_text(batch_id) != seen.batch_id:
            seen.batch_id = as_text(batch_id)
            seen.last_reply_at = None
            count = len(json.loads(messages)) if messages else 0
            self.add(person, "claimed", batch_id=seen.batch_id, messages=count)
        elif batch_id is None and seen.batch_id is not None:
            if seen.abandoned != seen.batch_id:
                finished = seen.batch_id
            seen.batch_id = None
        if pending > seen.pending:
            self.add(person, "stored", pending=pending, deadline_ms=deadline_ms)
        elif deadline_ms is not None and deadline_ms != seen.deadline_ms:
            self.add(person, "deadline", pending=pending, deadline_ms=deadline_ms)
        seen.pending, seen.deadline_ms = pending, deadline_ms
        return finished

    def _compare_handover(self, person: int, seen: _Seen, handoff: list[Any]) -> None:
        """A human's pause begun, or over."""
        source, until = handoff
        by = as_text(source) if source is not None else None
        if by is not None and seen.paused_by is None:
            self.add(person, "paused", by=by, until_ms=int(until))
        elif by is None and seen.paused_by is not None:
            self.add(person, "resumed")
        seen.paused_by = by

    async def _read_dead_letters(self, newest: list[str]) -> None:
        for batch_id in newest:
            if batch_id in self._dead_letters_seen:
                continue
            self._dead_letters_seen.add(batch_id)
            conversation, reason = await self.redis.hmget(  # type: ignore[misc]
                dead_letter_key(batch_id), ["conversation", "reason"]
            )
            person = self._by_conversation.get(as_text(conversation)) if conversation else None
            if person is not None:
                reason_text = as_text(reason) if reason else ""
                self.add(person, "dead-letter", batch_id=batch_id, reason=reason_text)
