"""``python -m worker``: one ARQ worker process; ``python -m worker --check``: its health.

Preferred over ``arq worker.main.WorkerSettings`` because it sets up batchbot's logs
(JSON option, secrets cut out) instead of ARQ's own, and because ``--check`` reads
this host's health key, which a container healthcheck needs.
"""

from __future__ import annotations

import argparse
import sys

from arq.worker import check_health, run_worker

from shared.logs import configure_logging
from shared.settings import WorkerProcessSettings, load_settings
from worker.main import settings_class


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m worker", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 0 if a worker on this host recorded its health recently, else 1",
    )
    args = parser.parse_args()
    settings = load_settings(WorkerProcessSettings)
    configure_logging(settings)
    worker_settings = settings_class(settings)
    if args.check:
        sys.exit(check_health(worker_settings))
    run_worker(worker_settings)


if __name__ == "__main__":
    main()
