"""Entry point for ARQ's CLI: ``arq worker.main.WorkerSettings``.

The class is built from the environment when this module is imported, which is when
the worker starts: a bad variable stops it with the variable's name. It is a plain
class, not a subclass, because ARQ reads only a settings class's own ``__dict__``.
"""

from __future__ import annotations

import logging

from shared.settings import WorkerProcessSettings, load_settings
from worker.options import worker_options

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

WorkerSettings = type("WorkerSettings", (), worker_options(load_settings(WorkerProcessSettings)))
