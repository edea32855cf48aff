"""ARQ's seams (``worker/arq_seams.py``, ``shared/arq_layout.py``, ``lua/arq_jobs.lua``)
hold only for the ARQ they were written against: the installed one, the pin and the
layout must agree, or this fails before anything subtler does."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import arq
from arq.jobs import deserialize_job_raw

from shared import arq_layout
from worker.arq_seams import ARQ_VERSION

ROOT = Path(__file__).parent.parent


def test_the_installed_arq_is_the_one_the_seams_were_written_against() -> None:
    assert version("arq") == ARQ_VERSION
    pinned = re.findall(r"(?m)^arq==(\S+)", (ROOT / "requirements.lock").read_text())
    assert pinned == [ARQ_VERSION]


def test_arq_layout_matches_the_installed_arq() -> None:
    assert arq.constants.default_queue_name == arq_layout.QUEUE
    assert arq.constants.job_key_prefix == arq_layout.JOB_KEY_PREFIX
    assert arq.constants.in_progress_key_prefix == arq_layout.IN_PROGRESS_KEY_PREFIX
    assert arq.constants.result_key_prefix == arq_layout.RESULT_KEY_PREFIX
    assert arq.constants.retry_key_prefix == arq_layout.RETRY_KEY_PREFIX
    assert arq.constants.abort_jobs_ss == arq_layout.ABORT_JOBS
    payload = arq_layout.batch_job_payload("-100:7").encode()
    function, args, kwargs, job_try, enqueued = deserialize_job_raw(
        payload, deserializer=arq_layout.deserialize
    )
    assert function == "process_message_batch"
    assert list(args) == ["-100:7"]
    assert kwargs == {}
    assert job_try is None
    assert enqueued > 0
