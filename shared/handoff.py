"""A human takes a conversation over: the pause, what is kept during it, and after.

Every signal (the business owner writes, a message echo from the business's own app,
``POST /handoff``, ``batchctl handoff``, a backend answer with ``"handoff": true``) ends
in :meth:`Handoffs.take_over`, one atomic script (``take_over.lua``): a batch at the
backend that nothing was sent of is abandoned, pending messages are held for the human,
and the conversation answers nothing until ``handoff:<conversation>`` expires or is
resumed. What was held (the customer's messages and the human's own) is then handed on
to the history (:meth:`Handoffs.hand_on`), never answered as a burst.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from redis.asyncio import Redis

from shared import metrics
from shared.history import HistoryRules, user_turn
from shared.keys import HANDOFFS, PENDING_INDEX, ConversationKeys, channel_of
from shared.models import IncomingMessage, Turn, to_json
from shared.outside_script_calls import HandOn, Resume, TakeOver
from shared.redis_scripts import as_text
from shared.replicated import ScriptRunner
from shared.store import SEEN_IDS_KEPT

log = logging.getLogger("batchbot.handoff")

SOURCES = ("owner", "api", "batchctl", "backend")
"""Who took over: a person of the business writing in the chat (Telegram Business, the
WhatsApp Business app, the Page's inbox), ``POST /handoff``, batchctl, the backend."""


def takeover_is_off(handoff_seconds: float) -> bool:
    """HANDOFF_SECONDS=0 turns takeover off: no signal pauses a conversation (the owner's
    message is only left out, /handoff answers 409, a backend's handoff is logged)."""
    return handoff_seconds <= 0


@dataclass(frozen=True, slots=True)
class TakenOver:
    claimed: str
    """The batch at the backend: 'none', 'abandoned' (nothing of it sent, never will be)
    or 'halted' (some parts went; nothing more does)."""
    held: int
    """Messages that were waiting and are now the human's."""
    until_ms: int


class Handoffs:
    """Takeovers of conversations, on one connection pool."""

    def __init__(
        self, redis: Redis, key_ttl_seconds: int, scripts: ScriptRunner | None = None
    ) -> None:
        """``scripts``: the process's runner; a takeover waits for REDIS_WAIT_REPLICAS as
        every write the takeover rule relies on does (a failover must not lose it)."""
        self.redis = redis
        self.key_ttl_seconds = key_ttl_seconds
        self.scripts = scripts or ScriptRunner(redis)

    async def take_over(
        self,
        conversation: str,
        source: str,
        seconds: float,
        said: str | None = None,
        message_id: str | None = None,
    ) -> TakenOver:
        """Pause the conversation for ``seconds`` from now; ``said`` is what the human wrote,
        kept (as their turn) for the history. A ``message_id`` the platform delivered
        before (an echo sent again) changes nothing: ``claimed`` is 'duplicate'."""
        keys = ConversationKeys(conversation)
        turn = "" if said is None else to_json(_human_turn(said))
        pause_ms = round(seconds * 1000)
        raw = await self.scripts.execute(
            TakeOver(
                conversation=conversation,
                key_ttl_seconds=self.key_ttl_seconds,
                batch_key=keys.batch,
                info_key=keys.info,
                inflight_key=keys.inflight,
                pending_index=PENDING_INDEX,
                handoff_key=keys.handoff,
                held_key=keys.held,
                handoffs_index=HANDOFFS,
                source=source,
                pause_ms=pause_ms,
                human_turn=turn,
                held_ttl_s=round(seconds) + self.key_ttl_seconds,
                human_message_id=message_id or "",
                seen_kept=SEEN_IDS_KEPT,
            )
        )
        taken = TakenOver(as_text(raw[0]), int(raw[1]), int(raw[2]))
        if taken.claimed == "duplicate":
            log.info(
                "conversation %s: the human's message %s was delivered again; kept once",
                conversation,
                message_id,
                extra={"conversation": conversation},
            )
            return taken
        metrics.HANDOFFS.labels(channel_of(conversation).value, source).inc()
        log.info(
            "conversation %s taken over by %s for %.0fs: %d message(s) held, batch at the "
            "backend: %s",
            conversation,
            source,
            seconds,
            taken.held,
            taken.claimed,
            extra={"conversation": conversation},
        )
        return taken

    async def known(self, conversation: str) -> bool:
        """Whether anyone wrote in this conversation lately: its keys (the ids seen, which
        outlive a batch by a day or more, pending or held messages, history, a pause)."""
        keys = ConversationKeys(conversation)
        found = await self.redis.exists(
            keys.info, keys.batch, keys.inflight, keys.held, keys.history, keys.handoff
        )
        return bool(found)

    async def paused_until_ms(self, conversation: str) -> int | None:
        """When the conversation's pause ends (ms), or None when nobody has taken it over."""
        until = await self.redis.hget(ConversationKeys(conversation).handoff, "until")  # type: ignore[misc]
        return None if until is None else int(until)

    async def resume(self, conversation: str) -> bool:
        """End the pause now; False when the conversation was not paused."""
        keys = ConversationKeys(conversation)
        resumed = await self.scripts.execute(
            Resume(
                conversation=conversation,
                key_ttl_seconds=self.key_ttl_seconds,
                inflight_key=keys.inflight,
                pending_index=PENDING_INDEX,
                handoff_key=keys.handoff,
                held_key=keys.held,
                handoffs_index=HANDOFFS,
                outbox_key=keys.outbox,
            )
        )
        if resumed:
            log.info("conversation %s resumed", conversation, extra={"conversation": conversation})
        return bool(resumed)

    async def hand_on(self, conversation: str, held: Sequence[str], history: HistoryRules) -> bool:
        """After the pause: what was held goes into the history (when kept) and is dropped;
        False when a new pause began meanwhile."""
        keys = ConversationKeys(conversation)
        turns = held_turns(held) if history.turns > 0 else []
        done = await self.scripts.execute(
            HandOn(
                held_key=keys.held,
                handoff_key=keys.handoff,
                history_key=keys.history,
                held_read=len(held),
                **history.to_keep(turns),
            )
        )
        return bool(done)


def _human_turn(said: str) -> Turn:
    return Turn(role="assistant", text=said, at=datetime.now(UTC), by="human")


def held_turns(held: Sequence[str]) -> list[Turn]:
    """What was held, as turns: each run of the customer's messages one user turn (as a
    batch would be), each of the human's messages an assistant turn ``"by": "human"``."""
    turns: list[Turn] = []
    messages: list[IncomingMessage] = []
    for item in held:
        if item.startswith('{"message_id"'):
            messages.append(IncomingMessage.model_validate_json(item))
            continue
        if item.startswith("["):  # a batch claimed by an older version, whole
            messages += [IncomingMessage.model_validate(m) for m in json.loads(item)]
            continue
        if messages:
            turns.append(user_turn(messages))
            messages = []
        turns.append(Turn.model_validate_json(item))
    if messages:
        turns.append(user_turn(messages))
    return turns
