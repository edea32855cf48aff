"""``python -m worker``: one ARQ worker process; ``python -m worker --check``: its health.

Preferred over ``arq worker.main.WorkerSettings``: it sets up batchbot's logs (JSON
option, secrets cut out) instead of ARQ's own, and ``--check`` reads this host's
health key, which a container healthcheck needs.
"""

from __future__ import annotations

import argparse
import sys

from shared.redis_settings import RedisConnectionSettings
from shared.settings import load_settings
from worker import health


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m worker", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 0 if a worker on this host recorded its health recently, else 1",
    )
    args = parser.parse_args()
    if args.check:  # needs Redis only: a healthcheck must not demand BACKEND_URL
        sys.exit(health.check(load_settings(RedisConnectionSettings)))
    # The worker's settings import aiogram's types (channel settings), and the worker
    # ARQ's: seconds a healthcheck must not pay, so they are imported only here
    # (tests/test_processes.py holds the check to that).
    from config.bot import BotSettings  # noqa: PLC0415
    from config.tenants import tenants_at_start  # noqa: PLC0415
    from shared.logs import configure_logging  # noqa: PLC0415
    from shared.stopping import exit_at_once  # noqa: PLC0415
    from worker.arq_seams import batch_worker, run_until_stopped  # noqa: PLC0415
    from worker.main import settings_class  # noqa: PLC0415
    from worker.settings import WorkerProcessSettings  # noqa: PLC0415

    settings = load_settings(WorkerProcessSettings, also_check=[BotSettings])
    tenants_at_start(settings)
    configure_logging(settings)

    run_until_stopped(batch_worker(settings_class(settings)))
    exit_at_once()


if __name__ == "__main__":
    main()
