"""Every Lua script's call by name: one small builder per script (:mod:`.script_call`),
whose fields are the script's keys and arguments in the order the script declares them;
``tests/test_script_contract.py`` holds the two equal, name for name. A call site says
``Release(inflight_key=..., claim_token=...)``, never a position in a list, and
:meth:`shared.replicated.ScriptRunner.execute` runs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shared.arq_layout import ABORT_JOBS, BatchJob, retry_key
from shared.keys import LEASES, PENDING_INDEX, ConversationKeys
from shared.media_cache import CacheMedia
from shared.outside_script_calls import HandOn, Proactive, Replay, Resume, Stop, TakeOver
from shared.script_call import JobScriptCall, ScriptCall, arg, key, rest
from shared.transcriptions import StoreTranscript, TakeMedia


@dataclass(frozen=True, slots=True, kw_only=True)
class Append(JobScriptCall):
    script = "append"
    batch_key: str = key()
    info_key: str = key()
    inflight_key: str = key()
    pending_index: str = key()
    handoff_key: str = key()
    held_key: str = key()
    transcribing_key: str = key()
    media_queue: str = key()
    media_item_key: str = key()
    message_id: int | str = arg()
    message: str = arg()
    chat: str = arg()
    """'' for the person's own private chat (the claim rebuilds it)."""
    user: str = arg()
    window_ms: int = arg()
    max_wait_ms: int = arg()
    max_messages: int = arg()
    seen_kept: int = arg()
    seen_ttl_s: int = arg()
    max_pending_messages: int = arg()
    max_pending_bytes: int = arg()
    max_message_bytes: int = arg()
    album_grace_ms: int = arg()
    supersede: int = arg()
    transcription_wait_ms: int = arg()
    prefetch: int = arg()
    transcription_on: int = arg()


@dataclass(frozen=True, slots=True, kw_only=True)
class Schedule(JobScriptCall):
    script = "schedule"
    batch_key: str = key()
    info_key: str = key()
    inflight_key: str = key()
    pending_index: str = key()
    outbox_key: str = key()
    leases: str = key()
    handoff_key: str = key()
    held_key: str = key()
    retry_key: str = key()
    abort_set: str = key()
    lease_ms: int = arg()
    lock_ms: int = arg()
    job_ended: int = arg()

    @classmethod
    def of(
        cls,
        conversation: str,
        key_ttl_seconds: int,
        lease_ms: int,
        lock_ms: int,
        job_ended: bool = False,
    ) -> Schedule:
        """The conversation's schedule, as its job's end and the sweep ask for it."""
        keys = ConversationKeys(conversation)
        return cls(
            conversation=conversation,
            key_ttl_seconds=key_ttl_seconds,
            batch_key=keys.batch,
            info_key=keys.info,
            inflight_key=keys.inflight,
            pending_index=PENDING_INDEX,
            outbox_key=keys.outbox,
            leases=LEASES,
            handoff_key=keys.handoff,
            held_key=keys.held,
            retry_key=retry_key(BatchJob(conversation).id),
            abort_set=ABORT_JOBS,
            lease_ms=lease_ms,
            lock_ms=lock_ms,
            job_ended=int(job_ended),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Claim(ScriptCall):
    script = "claim"
    batch_key: str = key()
    info_key: str = key()
    inflight_key: str = key()
    pending_index: str = key()
    outbox_key: str = key()
    leases: str = key()
    in_progress_key: str = key()
    handoff_key: str = key()
    held_key: str = key()
    answers_key: str = key()
    conversation: str = arg()
    batch_id: str = arg()
    max_messages: int = arg()
    recheck_after_ms: int = arg()
    key_ttl_s: int = arg()
    early_tolerance_ms: int = arg()
    claim_token: str = arg()
    lease_ms: int = arg()
    answers_window_ms: int = arg()


@dataclass(frozen=True, slots=True, kw_only=True)
class Clear(JobScriptCall):
    script = "clear"
    batch_key: str = key()
    info_key: str = key()
    inflight_key: str = key()
    pending_index: str = key()
    history_key: str = key()


@dataclass(frozen=True, slots=True, kw_only=True)
class Edit(ScriptCall):
    script = "edit"
    batch_key: str = key()
    info_key: str = key()
    message_id: int | str = arg()
    message: str = arg()


@dataclass(frozen=True, slots=True, kw_only=True)
class Remove(ScriptCall):
    script = "remove"
    batch_key: str = key()
    info_key: str = key()
    message_id: str = arg()


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateInflight(ScriptCall):
    script = "update_inflight"
    inflight_key: str = key()
    claim_token: str = arg()
    field: str = arg()
    value: str = arg()


@dataclass(frozen=True, slots=True, kw_only=True)
class Release(ScriptCall):
    script = "release"
    inflight_key: str = key()
    batch_key: str = key()
    info_key: str = key()
    pending_index: str = key()
    dead_letter_key: str = key()
    dead_letters_index: str = key()
    leases: str = key()
    history_key: str = key()
    outbox_key: str = key()
    answers_key: str = key()
    conversation: str = arg()
    batch_id: str = arg()
    dead_reason: str = arg()
    """'' when answered."""
    dead_ttl_s: int = arg()
    claim_token: str = arg()
    history_ttl_s: int = arg()
    turns_kept: int = arg()
    bytes_kept: int = arg()
    answers_window_ms: int = arg()
    turns: Sequence[str] = rest()


@dataclass(frozen=True, slots=True, kw_only=True)
class BeginPart(ScriptCall):
    script = "begin_part"
    inflight_key: str = key()
    claim_token: str = arg()
    part: int = arg()


@dataclass(frozen=True, slots=True, kw_only=True)
class Renew(ScriptCall):
    script = "renew"
    inflight_key: str = key()
    leases: str = key()
    in_progress_key: str = key()
    conversation: str = arg()
    claim_token: str = arg()
    lease_ms: int = arg()


@dataclass(frozen=True, slots=True, kw_only=True)
class EndLease(ScriptCall):
    script = "end_lease"
    inflight_key: str = key()
    leases: str = key()
    pending_index: str = key()
    conversation: str = arg()
    claim_token: str = arg()
    retry_in_ms: int = arg()


@dataclass(frozen=True, slots=True, kw_only=True)
class TakeJob(ScriptCall):
    script = "take_job"
    queue: str = key()
    in_progress_key: str = key()
    job_id: str = arg()
    worker_now_ms: int = arg()
    lock_ms: int = arg()


@dataclass(frozen=True, slots=True, kw_only=True)
class TakeTenantJob(ScriptCall):
    script = "take_tenant_job"
    queue: str = key()
    in_progress_key: str = key()
    running_key: str = key()
    parked_key: str = key()
    parked_tenants: str = key()
    job_id: str = arg()
    worker_now_ms: int = arg()
    lock_ms: int = arg()
    limit: int = arg()
    tenant: str = arg()


@dataclass(frozen=True, slots=True, kw_only=True)
class UnparkJobs(ScriptCall):
    script = "unpark_jobs"
    queue: str = key()
    running_key: str = key()
    parked_key: str = key()
    parked_tenants: str = key()
    ended_job: str = arg()
    now_ms: int = arg()
    limit: int = arg()
    tenant: str = arg()


@dataclass(frozen=True, slots=True, kw_only=True)
class ParkJobs(ScriptCall):
    script = "park_jobs"
    queue: str = key()
    parked_key: str = key()
    parked_tenants: str = key()
    tenant: str = arg()
    in_progress_prefix: str = arg()
    job_ids: Sequence[str] = rest()


CALLS: tuple[type[ScriptCall], ...] = (
    Append,
    Schedule,
    Claim,
    Clear,
    Edit,
    Remove,
    UpdateInflight,
    Release,
    BeginPart,
    Renew,
    EndLease,
    Proactive,
    TakeOver,
    Resume,
    HandOn,
    Replay,
    TakeJob,
    TakeTenantJob,
    UnparkJobs,
    ParkJobs,
    Stop,
    TakeMedia,
    StoreTranscript,
    CacheMedia,
)
"""One per script (``tests/test_script_contract.py``): a batch's own here, the calls made
from outside its run in :mod:`shared.outside_script_calls`."""
