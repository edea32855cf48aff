"""ARQ workers: claim a due batch, ask the backend once, relay the answer to the chat.

``jobs`` is the protocol step by step; ``delivery`` the one loop that sends and marks
reply parts (answers and proactive messages, ``outbox``); ``reply_parts`` the pure
rules that cut an answer into messages; ``lifecycle`` start-up, shutdown and the
sweep; ``options`` and ``main`` ARQ's settings; ``settings`` the worker's own. The only
package that defines ARQ jobs. Run with ``python -m worker`` or
``arq worker.main.WorkerSettings``.
"""
