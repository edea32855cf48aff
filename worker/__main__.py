"""``python -m worker``: one ARQ worker process; ``python -m worker --check``: its health.

Preferred over ``arq worker.main.WorkerSettings``: it sets up batchbot's logs (JSON
option, secrets cut out) instead of ARQ's own, and ``--check`` reads this host's
health key, which a container healthcheck needs.
"""

from __future__ import annotations

import argparse
import sys

from config.bot import BotSettings
from shared.logs import configure_logging
from shared.redis_settings import RedisConnectionSettings
from shared.settings import load_settings
from shared.stopping import exit_at_once
from worker import health
from worker.settings import WorkerProcessSettings


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
    settings = load_settings(WorkerProcessSettings, also_check=[BotSettings])
    configure_logging(settings)
    # The worker itself imports aiogram and ARQ's worker: seconds a check need not pay.
    from worker.main import settings_class  # noqa: PLC0415
    from worker.running import batch_worker, run_until_stopped  # noqa: PLC0415

    run_until_stopped(batch_worker(settings_class(settings)))
    exit_at_once()


if __name__ == "__main__":
    main()
