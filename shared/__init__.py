"""What every process shares: the batching protocol over Redis and what it is made of.

- ``models`` (with ``message_parts``): the wire contract with the backend; ``schema``
  writes its JSON Schema; ``rules``: the batching rules; ``settings``: how every process
  reads its settings, with ``redis_settings``; ``channel_names``: the channels' names.
- ``store`` (with ``claimed`` and ``states``): the batch protocol, the bot's intake and
  the worker's steps; ``leases``: a running batch's lease; ``handoff`` (with
  ``handoff_request``): a human takes over; ``history``: turns for stateless models;
  ``outbox`` (with ``proactive``): proactive messages; ``dead_letters``: failed batches.
- ``keys``, ``redis_scripts``, ``replicated`` (the one script runner), ``pipelining``,
  ``replication`` and ``lua/``: key names, the atomic scripts and how they are called;
  ``arq_layout`` and ``lua/arq_jobs.lua``: all that is known of ARQ's internals.
- ``redis_connection``, ``logs``, ``redaction``, ``metrics``, ``ops_server``,
  ``stopping``: connections, logs without secrets, Prometheus metrics, /healthz, stops.

It imports none of batchbot's other packages and no chat, job or HTTP-client framework
(an import-linter contract checks it), so any process or tool can use it.
"""
