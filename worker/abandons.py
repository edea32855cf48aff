"""Hearing at once that a batch this worker runs was abandoned, and stopping its call.

A batch is abandoned (``lib.lua``'s ``abandon``) when the person writes more before any
part of its answer went (supersede), or a human takes the conversation over. Its run
must stop waiting for the backend: the conversation's next batch cannot start while the
job runs. The abandoning script publishes ``<conversation> <why>`` on ``batches-abandoned``;
each worker listens, and its lease renewals report it too should a message be missed
(the connection dropped). An answer that still comes is refused by ``update_inflight.lua``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Iterator
from typing import TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from shared.claimed import Abandoned, ClaimedBatch
from shared.keys import ABANDONED_CHANNEL, ConversationKeys
from shared.redis_scripts import as_text
from shared.states import AbandonReason

log = logging.getLogger("batchbot.worker")

RECONNECT_SECONDS = 1.0

T = TypeVar("T")


class AbandonWatch:
    """The abandonments of the batches running in this worker, as events."""

    def __init__(self) -> None:
        self._events: dict[str, asyncio.Event] = {}

    @contextlib.contextmanager
    def watching(self, conversation: str) -> Iterator[asyncio.Event]:
        """An event set once the conversation's running batch is abandoned."""
        event = self._events[conversation] = asyncio.Event()
        try:
            yield event
        finally:
            if self._events.get(conversation) is event:
                del self._events[conversation]

    def heard(self, conversation: str) -> None:
        event = self._events.get(conversation)
        if event is not None:
            event.set()

    async def listen_forever(self, redis: Redis) -> None:
        """Follow ``batches-abandoned``; after a lost connection, subscribe again."""
        while True:
            try:
                async with redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(ABANDONED_CHANNEL)
                    async for message in pubsub.listen():
                        self.heard(as_text(message["data"]).split(" ", 1)[0])
            except (RedisError, OSError) as error:
                log.warning(
                    "not hearing abandoned batches (%s); again in %.0fs", error, RECONNECT_SECONDS
                )
                await asyncio.sleep(RECONNECT_SECONDS)


async def until_abandoned(
    call: Awaitable[T], abandoned: asyncio.Event, redis: Redis, batch: ClaimedBatch
) -> T:
    """``call``'s result; Abandoned (the call cancelled) if the batch is abandoned first."""
    calling = asyncio.ensure_future(call)
    hearing = asyncio.ensure_future(abandoned.wait())
    try:
        await asyncio.wait({calling, hearing}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        hearing.cancel()
        if not calling.done():
            calling.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await calling
    if calling.cancelled() or not calling.done():
        why = await redis.hget(ConversationKeys(batch.conversation).inflight, "abandoned")  # type: ignore[misc]
        raise Abandoned(batch.batch_id, as_text(why) if why else AbandonReason.SUPERSEDED)
    return calling.result()
