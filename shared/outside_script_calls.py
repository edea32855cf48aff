"""The script calls made from outside a batch's run (:mod:`shared.script_calls` has the
run's own): a human taking a conversation over and handing it back, what was held handed
on to the history, the person's Stop, a proactive message, an operator's replay."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shared.script_call import JobScriptCall, ScriptCall, arg, key, rest


@dataclass(frozen=True, slots=True, kw_only=True)
class Proactive(JobScriptCall):
    script = "proactive"
    outbox_key: str = key()
    inflight_key: str = key()
    pending_index: str = key()
    handoff_key: str = key()
    messages: Sequence[str] = rest()


@dataclass(frozen=True, slots=True, kw_only=True)
class TakeOver(JobScriptCall):
    script = "take_over"
    batch_key: str = key()
    info_key: str = key()
    inflight_key: str = key()
    pending_index: str = key()
    handoff_key: str = key()
    held_key: str = key()
    handoffs_index: str = key()
    source: str = arg()
    pause_ms: int = arg()
    human_turn: str = arg()
    held_ttl_s: int = arg()
    human_message_id: str = arg()
    seen_kept: int = arg()


@dataclass(frozen=True, slots=True, kw_only=True)
class Resume(JobScriptCall):
    script = "resume"
    inflight_key: str = key()
    pending_index: str = key()
    handoff_key: str = key()
    held_key: str = key()
    handoffs_index: str = key()
    outbox_key: str = key()


@dataclass(frozen=True, slots=True, kw_only=True)
class HandOn(ScriptCall):
    script = "hand_on"
    held_key: str = key()
    handoff_key: str = key()
    history_key: str = key()
    held_read: int = arg()
    history_ttl_s: int = arg()
    turns_kept: int = arg()
    bytes_kept: int = arg()
    turns: Sequence[str] = rest()


@dataclass(frozen=True, slots=True, kw_only=True)
class Replay(ScriptCall):
    script = "replay"
    dead_letter_key: str = key()
    dead_letters_index: str = key()
    batch_key: str = key()
    info_key: str = key()
    pending_index: str = key()
    batch_id: str = arg()
    conversation: str = arg()
    key_ttl_s: int = arg()
    chat: str = arg()
    user: str = arg()
    messages: Sequence[str] = rest()


@dataclass(frozen=True, slots=True, kw_only=True)
class Stop(ScriptCall):
    script = "stop"
    inflight_key: str = key()
    conversation: str = arg()
    batch_id: str = arg()
