"""Everything batchbot knows about arq's private Redis layout (checked against arq 0.28).

The bot creates and moves ARQ jobs from inside a Lua script, which means writing arq's
keys directly. Two files hold that knowledge: this module (key names, the job payload,
which keys a script gets) and ``lua/arq_jobs.lua`` (how a script sees a job running,
queues, moves or drops it). If arq ever changes its layout, those two and the test
``test_arq_layout_matches_the_installed_arq`` are the only places to look.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

QUEUE = "arq:queue"
"""Sorted set of job ids scored by run time in ms; ``ZADD XX`` moves a deferred job."""

JOB_KEY_PREFIX = "arq:job:"
IN_PROGRESS_KEY_PREFIX = "arq:in-progress:"
RESULT_KEY_PREFIX = "arq:result:"
RETRY_KEY_PREFIX = "arq:retry:"
ABORT_JOBS = "arq:abort"
"""Sorted set of job ids to abort; ARQ's finish takes the job out of it."""

HEALTH_CHECK_KEY_PREFIX = "arq:queue:health-check:"

BATCH_FUNCTION = "process_message_batch"
BATCH_JOB_PREFIX = "batch:"


def batch_job_id(conversation: str) -> str:
    """One fixed job id per conversation, so a new message moves the timer of the same job."""
    return BATCH_JOB_PREFIX + conversation


def conversation_of_job(job_id: str) -> str | None:
    """The conversation a batch job belongs to, or None for any other job."""
    if job_id.startswith(BATCH_JOB_PREFIX):
        return job_id.removeprefix(BATCH_JOB_PREFIX)
    return None


def health_check_key(host: str, worker: str) -> str:
    """Per worker (host, then its metrics port or process id), not arq's one shared key:
    otherwise any live worker makes every container look healthy, and workers side by
    side on one host would overwrite each other's line."""
    return f"{HEALTH_CHECK_KEY_PREFIX}{host}:{worker}"


def health_check_keys_of(host: str) -> str:
    """The pattern matching the health keys of every worker on a host."""
    return f"{HEALTH_CHECK_KEY_PREFIX}{host}:*"


def job_key(job_id: str) -> str:
    return JOB_KEY_PREFIX + job_id


def in_progress_key(job_id: str) -> str:
    return IN_PROGRESS_KEY_PREFIX + job_id


def retry_key(job_id: str) -> str:
    return RETRY_KEY_PREFIX + job_id


def serialize(data: dict[str, Any]) -> bytes:
    """arq ``job_serializer``: JSON instead of pickle, so jobs read well in RedisInsight."""
    return json.dumps(data, separators=(",", ":")).encode()


def deserialize(raw: bytes) -> dict[str, Any]:
    """arq ``job_deserializer`` matching :func:`serialize`."""
    data: dict[str, Any] = json.loads(raw)
    return data


def batch_job_payload(conversation: str) -> str:
    """The value of ``arq:job:<id>`` as ``arq.jobs.serialize_job`` would write it."""
    data: dict[str, Any] = {
        "t": None,
        "f": BATCH_FUNCTION,
        "a": [conversation],
        "k": {},
        "et": int(time.time() * 1000),
    }
    return serialize(data).decode()


@dataclass(frozen=True, slots=True)
class BatchJob:
    """A conversation's batch job as a scheduling script receives it (``arq_jobs.lua``):
    ``keys`` go last in KEYS, ``args`` first in ARGV (the key TTL follows them)."""

    conversation: str

    @property
    def id(self) -> str:
        return batch_job_id(self.conversation)

    @property
    def keys(self) -> list[str]:
        """The queue, the job and its in-progress key, in that order."""
        return [QUEUE, job_key(self.id), in_progress_key(self.id)]

    @property
    def in_progress_key(self) -> str:
        """ARQ's lock on the running job, which a claim and each lease renewal hold short."""
        return in_progress_key(self.id)

    @property
    def args(self) -> list[str]:
        """The conversation, the job id and the payload to write if the job is created."""
        return [self.conversation, self.id, batch_job_payload(self.conversation)]
