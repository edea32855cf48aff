"""ARQ workers: claim a due batch, ask the backend once, relay the answer to Telegram.

The only package that defines ARQ jobs. Run with ``arq worker.main.WorkerSettings``.
"""
