"""ARQ worker options built from validated settings.

Kept apart from ``worker.main`` so tests and benchmarks can start in-process workers
with their own settings, while ``arq worker.main.WorkerSettings`` reads the environment.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from arq import func
from arq.connections import RedisSettings

from shared import arq_layout
from shared.ops_server import bind_ops_socket
from shared.redis_connection import outage_retry, tls_options
from worker.arq_seams import process_message_batch
from worker.job_end import after_job_end
from worker.lifecycle import shutdown, startup
from worker.settings import WorkerProcessSettings


def _redis_settings(settings: WorkerProcessSettings) -> RedisSettings:
    """Commands wait out a Redis outage of up to REDIS_OUTAGE_TOLERANCE_SECONDS.

    Without this, ARQ's poll loop dies on the first refused connection and the worker
    exits; with it, every command retries with back-off and the worker carries on when
    Redis is back. With Sentinel, ARQ takes no retry options: startup adds them
    (:func:`worker.lifecycle.startup`).
    """
    redis_settings = RedisSettings.from_dsn(settings.redis_url)
    for name, value in tls_options(settings).items():
        setattr(redis_settings, name, value)
    for name, value in outage_retry(settings.redis_outage_tolerance_seconds).items():
        setattr(redis_settings, name, value)
    if settings.sentinel_addresses:
        redis_settings.host = settings.sentinel_addresses
        redis_settings.sentinel = True
        redis_settings.sentinel_master = settings.redis_sentinel_master or ""
    return redis_settings


def worker_options(settings: WorkerProcessSettings) -> dict[str, Any]:
    """Keyword arguments for ``arq.worker.Worker``.

    ``keep_result=0`` on the function and the worker: otherwise ``arq:result:<id>``
    blocks the fixed job id for an hour and the person's next burst waits for it.
    The metrics port is bound here, before ARQ starts, so the health key can name it.
    """
    timeout = settings.worker_job_timeout_seconds
    ctx: dict[str, Any] = {"settings": settings}
    name = f"pid{os.getpid()}"
    if settings.worker_metrics_port:
        sock = bind_ops_socket(
            settings.metrics_host, settings.worker_metrics_port, "WORKER_METRICS_PORT"
        )
        ctx["ops_socket"] = sock
        name = f"port{sock.getsockname()[1]}"
    worker_name = ctx["worker_name"] = f"{socket.gethostname()}:{name}"
    return {
        "functions": [
            func(
                process_message_batch,
                name=arq_layout.BATCH_FUNCTION,
                keep_result=0,
                timeout=timeout,
                max_tries=settings.worker_max_tries,
            )
        ],
        "on_startup": startup,
        "on_shutdown": shutdown,
        "after_job_end": after_job_end,
        "ctx": ctx,
        "redis_settings": _redis_settings(settings),
        "job_serializer": arq_layout.serialize,
        "job_deserializer": arq_layout.deserialize,
        "keep_result": 0,
        "job_timeout": timeout,
        "max_tries": settings.worker_max_tries,
        "max_jobs": settings.worker_max_jobs,
        "queue_read_limit": settings.worker_queue_read_limit,
        "poll_delay": settings.worker_poll_delay_seconds,
        # On SIGTERM stop taking batches and let running ones finish; ARQ re-queues
        # whatever is still running when the grace time is over.
        "job_completion_wait": settings.worker_shutdown_grace_seconds,
        "health_check_interval": settings.worker_health_check_interval_seconds,
        "health_check_key": arq_layout.health_check_key(*worker_name.split(":", 1)),
    }
