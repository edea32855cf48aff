"""A worker process's settings. They live in :mod:`config.worker` so that the bot can
check them too: one environment serves every process, and a value wrong for the workers
stops the bot at start-up as well (:func:`shared.settings.load_settings`)."""

from config.worker import WorkerProcessSettings

__all__ = ["WorkerProcessSettings"]
