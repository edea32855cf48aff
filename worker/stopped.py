"""The person pressed Stop on the answer being written (:mod:`shared.stops`): its backend
call was cancelled, and nothing more of the answer goes out. With DRAFT_KEEP_ON_STOP what
was written so far stays, sent as a message, and is the history's assistant turn; without
it, nothing of the batch is remembered."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field

from channels.base import Recipient
from shared.claimed import Abandoned, ClaimedBatch
from shared.history import turns_of
from shared.models import MessageId
from shared.states import AbandonReason
from worker.lifecycle import WorkerDeps
from worker.outcome import Outcome
from worker.progress import OnText

log = logging.getLogger("batchbot.worker")


@dataclass(slots=True)
class Written:
    """The answer as streamed so far, for a Stop that keeps it; and the messages it grew
    in where there are no drafts, by part, for its delivery."""

    text: str = ""
    grown: dict[int, MessageId] = field(default_factory=dict)

    def kept(self, on_text: OnText | None) -> OnText | None:
        """``on_text``, keeping each text it is given here too."""
        if on_text is None:
            return None
        show = on_text

        async def keep(text: str) -> None:
            self.text = text
            await show(text)

        return keep


async def stopped(deps: WorkerDeps, batch: ClaimedBatch, written: Written) -> Outcome:
    """Release the stopped batch, first sending what was written if it is to stay."""
    sender = deps.senders.get(batch.request.channel)
    kept = written.text.strip()
    if sender is None or not sender.keep_on_stop:
        kept = ""
    elif kept:
        kept = kept[: sender.limits.text]
        to = Recipient(batch.conversation, batch.request.messages[-1].message_id)
        try:
            await sender.send_text(to, kept, None, None)
        except Exception as error:  # the person stopped it: no retry for a leftover
            log.warning("batch %s: the stopped text was not kept: %s", batch.batch_id, error)
            kept = ""
    remember = turns_of(batch.request, kept) if kept else []
    with contextlib.suppress(Abandoned):
        await deps.store.release(batch, remember=remember, history=deps.history)
    said = f"{len(kept)} characters of it kept" if kept else "nothing of it sent"
    log.info("batch %s: the person stopped its answer; %s", batch.batch_id, said)
    return Outcome(AbandonReason.STOPPED, f"batch {batch.batch_id}: stopped, {said}")
