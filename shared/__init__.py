"""What every process shares: the batching protocol over Redis and what it is made of.

- ``models``: the wire contract with the backend; ``rules``: the batching rules;
  ``settings``: the settings every process reads (each process adds its own), with
  ``redis_settings`` and ``channel_settings`` (which channels are on).
- ``store``: the batch protocol (the bot's intake, the worker's steps); ``outbox``:
  proactive messages; ``dead_letters``: failed batches, for operators.
- ``keys``, ``redis_scripts`` and ``lua/``: key names and the atomic scripts;
  ``arq_layout`` and ``lua/arq_jobs.lua``: all that is known of ARQ's internals.
- ``logs``, ``metrics``, ``ops_server``: logs, Prometheus metrics, /healthz.

It imports none of batchbot's other packages and no chat, job or HTTP-client framework
(an import-linter contract checks it), so any process or tool can use it.
"""
