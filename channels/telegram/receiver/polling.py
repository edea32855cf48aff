"""Polling that loses no update: Telegram's offset moves only past stored messages.

aiogram's own polling confirms updates to Telegram (by asking for the next offset)
before its handlers have stored them, so a Redis outage, a deploy or a crash could
lose what it had fetched. Here each batch of updates is handled to the end (every
message stored, retried while Redis is away) before the next getUpdates confirms it.
While storing fails nothing new is fetched: Telegram keeps updates for 24 hours. A bot
stopped or killed mid-batch gets the same updates again at its next start, and the
store drops any it already has (by message id).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Sequence

from aiogram import Bot, Dispatcher
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramConflictError,
    TelegramNetworkError,
    TelegramRetryAfter,
)
from aiogram.types import Update

log = logging.getLogger("batchbot.bot")

POLL_TIMEOUT_SECONDS = 10
RETRY_MAX_SECONDS = 30.0
CONFLICT_WAIT_SECONDS = 5.0
"""Another instance polls the same token (409): this one waits this long between tries.
Updates are not lost: whichever instance fetches them stores them, once."""
CONFLICT_REMINDER_SECONDS = 600.0


async def poll_until_stopped(
    dispatcher: Dispatcher,
    bot: Bot,
    stop: asyncio.Event,
    grace_seconds: float,
    poll_timeout_seconds: int = POLL_TIMEOUT_SECONDS,
) -> None:
    """Fetch, store, confirm, until ``stop`` is set; then let stores finish for
    ``grace_seconds`` and leave the rest unconfirmed, for Telegram to deliver again."""
    allowed = dispatcher.resolve_used_update_types()
    me = await bot.me()
    log.info("Run polling for bot @%s id=%d; updates are confirmed once stored", me.username, me.id)
    offset: int | None = None
    delay = 1.0
    conflict_said_at = float("-inf")
    while not stop.is_set():
        fetch = bot.get_updates(
            offset=offset, timeout=poll_timeout_seconds, allowed_updates=allowed
        )
        try:
            updates = await _unless_stopped(fetch, stop)
        except TelegramRetryAfter as error:
            await _sleep_unless_stopped(error.retry_after, stop)
            continue
        except TelegramConflictError:
            # Two pollers take turns being cut off: one line, then one a while later.
            if time.monotonic() - conflict_said_at >= CONFLICT_REMINDER_SECONDS:
                log.warning(
                    "another instance polls this bot token (Telegram answered 409 Conflict); "
                    "only one may poll: this one tries again every %.0fs. Run replicas in "
                    "webhook mode (WEBHOOK_URL) instead",
                    CONFLICT_WAIT_SECONDS,
                )
                conflict_said_at = time.monotonic()
            await _sleep_unless_stopped(CONFLICT_WAIT_SECONDS, stop)
            continue
        except (TelegramAPIError, TelegramNetworkError) as error:
            log.warning("getUpdates failed (%s); trying again in %.0fs", error, delay)
            await _sleep_unless_stopped(delay, stop)
            delay = min(delay * 2, RETRY_MAX_SECONDS)
            continue
        delay = 1.0
        if not updates:
            continue
        if not await _handle_all(dispatcher, bot, updates, stop, grace_seconds):
            break
        offset = updates[-1].update_id + 1
    if offset is not None:  # confirm the last stored batch, so a restart does not refetch it
        with contextlib.suppress(TelegramAPIError, TelegramNetworkError):
            await bot.get_updates(offset=offset, timeout=0, limit=1, allowed_updates=allowed)


async def _handle_all(
    dispatcher: Dispatcher,
    bot: Bot,
    updates: Sequence[Update],
    stop: asyncio.Event,
    grace_seconds: float,
) -> bool:
    """Handle the updates side by side; True once all are done, False if the bot was
    stopped first and the grace time ran out (those updates stay unconfirmed)."""
    tasks = {asyncio.create_task(_handle(dispatcher, bot, update)) for update in updates}
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait([*tasks, stopping], return_when=asyncio.FIRST_COMPLETED)
        while not all(task.done() for task in tasks) and not stop.is_set():
            await asyncio.wait([*tasks, stopping], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    unfinished = {task for task in tasks if not task.done()}
    if not unfinished:
        return True
    log.info("waiting up to %.0fs for %d message(s) to be stored", grace_seconds, len(unfinished))
    _, unfinished = await asyncio.wait(unfinished, timeout=grace_seconds)
    if not unfinished:
        return True
    for task in unfinished:
        task.cancel()
    log.error(
        "%d update(s) not stored before shutdown; Telegram delivers them again at the next start",
        len(unfinished),
    )
    return False


async def _handle(dispatcher: Dispatcher, bot: Bot, update: Update) -> None:
    """One update through the routers; a handler's bug is logged, never a stalled bot."""
    try:
        await dispatcher.feed_update(bot, update)
    except Exception:
        log.exception("update %d could not be handled; skipped", update.update_id)


async def _unless_stopped(fetch: Awaitable[list[Update]], stop: asyncio.Event) -> list[Update]:
    """The fetched updates, or none if the bot is stopped while the long poll waits."""
    polling = asyncio.ensure_future(fetch)
    polling.add_done_callback(_retrieved)  # also when this coroutine is cancelled meanwhile
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait([polling, stopping], return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        polling.cancel()
        raise
    finally:
        stopping.cancel()
    if not polling.done():  # stopped while the long poll waited
        polling.cancel()
        return []
    return polling.result()


def _retrieved(task: asyncio.Future[list[Update]]) -> None:
    """Mark a fetch's error as seen: the caller handles it, or is gone (stopping)."""
    if not task.cancelled():
        task.exception()


async def _sleep_unless_stopped(seconds: float, stop: asyncio.Event) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
