"""Voice notes heard while the person is still writing: every worker takes voice notes off
the queue the bot fills (:mod:`shared.transcriptions`), fetches each from its channel,
has it transcribed, and writes the words onto the waiting message, which lets its batch
go. An item is leased, and the lease renewed while the work goes on, so a worker killed
mid-transcription leaves it to another within a lease. A failure that may pass is tried
again with back-off while the batch can still wait; anything else is said on the
message as ``transcript_error``: the batch always goes, with or without the words.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable

from redis.exceptions import RedisError

from backend_client import PermanentBackendError, RetryableBackendError, TranscriptionClient
from channels.base import ChannelSender
from channels.media import MediaUnavailable, data_url, image_of
from shared.media_cache import MediaCache
from shared.models import BatchRequest, IncomingMessage, MessageKind
from shared.rules import TRANSCRIBED_KINDS
from shared.transcriptions import Transcription, Transcriptions
from worker.recording import recorded
from worker.settings import WorkerProcessSettings

log = logging.getLogger("batchbot.worker")

POLL_SECONDS = 0.1
"""How often a worker looks for voice notes to take: a transcription starts within this
of the message being stored."""
TRIES = 3
RETRY_FIRST_MS = 500


class Transcriber:
    """One worker's share of the queue."""

    def __init__(
        self,
        transcriptions: Transcriptions,
        client: TranscriptionClient | None,
        sender_for: Callable[[str], ChannelSender],
        settings: WorkerProcessSettings,
        cache: MediaCache | None = None,
    ) -> None:
        self.transcriptions, self.client, self.cache = transcriptions, client, cache
        self.sender_for, self.settings = sender_for, settings
        self.lease_ms = round(settings.worker_lease_seconds * 1000)
        self.working: dict[str, Transcription] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def run_forever(self) -> None:
        renewing = asyncio.create_task(self._renew_forever())
        try:
            while True:
                room = self.settings.transcribe_concurrency - len(self.working)
                if room > 0:
                    await self._take(room)
                await asyncio.sleep(POLL_SECONDS)
        finally:
            renewing.cancel()
            for task in [renewing, *self._tasks]:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _take(self, room: int) -> None:
        try:
            taken = await self.transcriptions.take(self.lease_ms, room)
        except (RedisError, OSError) as error:
            log.info("voice notes not taken (%s); again in %.1fs", error, POLL_SECONDS)
            return
        for item in taken:
            log.info("transcribing %s (try %d)", item.key, item.attempts)
            self.working[item.key] = item
            task = asyncio.create_task(self._transcribe(item))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self.lease_ms / 3000)
            with contextlib.suppress(RedisError, OSError):  # tried again next interval
                await self.transcriptions.renew(list(self.working.values()), self.lease_ms)

    async def _transcribe(self, item: Transcription) -> None:
        if item.message.kind is MessageKind.PHOTO:
            await self._fetch_ahead(item)
            return
        try:
            words, error, seconds = await self._words_of(item)
        except RetryableBackendError as failure:
            if item.attempts < TRIES:
                delay_ms = RETRY_FIRST_MS * 2 ** (item.attempts - 1)
                log.warning("%s: %s; trying again in %d ms", item.key, failure, delay_ms)
                with contextlib.suppress(RedisError, OSError):  # else the lease ends it
                    await self.transcriptions.later(item, delay_ms)
                self.working.pop(item.key, None)
                return
            words, error, seconds = None, f"{failure} ({item.attempts} tries)", 0
        try:
            store = functools.partial(self.transcriptions.store, item, words, error, seconds)
            where = await recorded(store, f"{item.key}'s transcript")
            log.info("%s: %s %s", item.key, "transcript" if error is None else error, where)
        finally:
            self.working.pop(item.key, None)

    async def _fetch_ahead(self, item: Transcription) -> None:
        """A photo for a model that sees images, kept until its batch goes; one that cannot
        be had, or kept, now is fetched then, as without the cache."""
        try:
            if self.cache is not None:
                sender = self.sender_for(item.conversation)
                cap = self.settings.media_cache_item_max_bytes
                media = await sender.fetch_media(item.message, cap)
                kept = await self.cache.keep(
                    item.conversation, item.message.message_id, media.content
                )
                log.info("%s: %s", item.key, "fetched ahead" if kept else "cache full")
        except Exception as why:  # at worst the photo is fetched when its batch goes
            log.info("%s: not fetched ahead (%s)", item.key, why)
        finally:
            self.working.pop(item.key, None)
            with contextlib.suppress(RedisError, OSError):  # else its lease ends it
                await self.transcriptions.done(item)

    async def _words_of(self, item: Transcription) -> tuple[str | None, str | None, int]:
        """(words, None, seconds), or (None, why there are none, 0) for good."""
        message, settings = item.message, self.settings
        if message.duration and message.duration > settings.transcribe_max_seconds:
            return (
                None,
                (
                    f"the voice note is {message.duration} s long, over the cap of "
                    f"{settings.transcribe_max_seconds} s (TRANSCRIBE_MAX_SECONDS)"
                ),
                0,
            )
        try:
            media = await self.sender_for(item.conversation).fetch_media(
                message, settings.transcribe_max_bytes
            )
        except MediaUnavailable as why:
            return None, f"not transcribed: {why}", 0
        except Exception as why:  # a channel not configured here, a platform's surprise
            return None, f"not transcribed: {why}", 0
        if self.client is None:
            return None, "not transcribed: TRANSCRIBE_URL is not set on this worker", 0
        try:
            words, seconds = await self.client.transcribe(
                media.content, media.mime_type or message.mime_type
            )
        except PermanentBackendError as refused:
            return None, str(refused), 0
        return words, None, seconds


def late_transcripts_said(request: BatchRequest, settings: WorkerProcessSettings) -> BatchRequest:
    """The batch goes without the transcripts not stored in time: each such voice note
    says so in ``transcript_error`` (none when transcription is off)."""
    if settings.transcribe_url is None:
        return request
    wait = f"{settings.transcribe_timeout_seconds:g}"
    late = f"not transcribed within TRANSCRIBE_TIMEOUT_SECONDS ({wait} s)"
    messages = [
        m.model_copy(update={"transcript_error": late})
        if m.kind in TRANSCRIBED_KINDS and m.transcript is None and m.transcript_error is None
        else m
        for m in request.messages
    ]
    return request.model_copy(update={"messages": messages})


def image_fetcher(
    cache: MediaCache | None, conversation: str, sender: ChannelSender
) -> Callable[[IncomingMessage], Awaitable[str | None]]:
    """A photo for the model: from the cache when it was fetched ahead, else now."""

    async def fetch(message: IncomingMessage) -> str | None:
        if cache is not None:
            with contextlib.suppress(RedisError, OSError):  # then fetched now, as without
                content = await cache.get(conversation, message.message_id)
                if content is not None:
                    return data_url(content, message.mime_type)
        return await image_of(sender, message)

    return fetch
