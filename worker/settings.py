"""A worker process's settings. They live in :mod:`shared.worker_settings` so that the bot
can check them too: one environment serves every process, and a value wrong for the
workers stops the bot at start-up as well (:func:`shared.settings.load_settings`)."""

from shared.worker_settings import WorkerProcessSettings

__all__ = ["WorkerProcessSettings"]
