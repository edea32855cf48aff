"""ARQ workers: claim a due batch, ask the backend once, relay the answer to the chat.

``jobs`` is the protocol step by step; ``progress`` what the person sees while the
backend works ("typing…", drafts of a streamed answer); ``delivery`` the one loop that
sends and marks reply parts (answers and proactive messages, ``outbox``);
``reply_parts`` and ``policy`` the pure rules (an answer cut into messages; retry
back-off; whether a group batch is for the bot); ``lifecycle`` start-up, shutdown and the
sweep; ``tenants`` a batch's tenant, ``fairness`` a tenant's cap on batches in flight;
``options`` and ``main`` ARQ's settings; ``settings`` the worker's own. The only
package that defines ARQ jobs. Run with ``python -m worker`` or
``arq worker.main.WorkerSettings``.
"""
