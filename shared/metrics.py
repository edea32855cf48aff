"""Prometheus metrics of the bot and the workers, defined once so the names agree.

Each process exposes its own on ``/metrics`` (see :mod:`shared.ops_server`). Labels
have a small fixed set of values: never a person's id, which would make one series
per person.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# Bot
MESSAGES_RECEIVED = Counter(
    "batchbot_messages_received_total",
    "Messages stored in a batch, by channel and kind",
    ["channel", "kind"],
)
MESSAGES_REFUSED = Counter(
    "batchbot_messages_refused_total",
    "Messages refused by a per-person cap, by reason (see the BATCH_MAX_PENDING_* settings)",
    ["reason"],
)
MESSAGES_DUPLICATE = Counter(
    "batchbot_messages_duplicate_total",
    "Redelivered messages dropped because already stored, by channel",
    ["channel"],
)
WEBHOOK_REQUESTS = Counter(
    "batchbot_webhook_requests_total",
    "Webhook deliveries by channel and answer: stored, refused_signature, not_a_delivery, "
    "not_stored (503, the platform delivers again)",
    ["channel", "result"],
)
STORE_RETRIES = Counter(
    "batchbot_store_retries_total", "Attempts to store a message that failed on a Redis error"
)

# Worker
TENANT_BATCHES = Counter(
    "batchbot_tenant_batches_total",
    "Batch job runs by TENANTS_FILE tenant (the environment's own: default) and outcome, "
    "as batchbot_batches_total counts them by channel.",
    ["tenant", "outcome"],
)
TENANT_MESSAGES = Counter(
    "batchbot_tenant_messages_total",
    "Messages stored, by TENANTS_FILE tenant (the environment's own: default).",
    ["tenant"],
)
BATCHES = Counter(
    "batchbot_batches_total",
    "Batch job runs by channel and outcome: answered, refused (a part refused by the "
    "platform: the batch is a dead letter), retry, dead_letter, claim_lost, "
    "not_addressed (a group batch not meant for the bot), superseded (the person wrote "
    "more before any part was sent), handed_over (a human took the conversation over), "
    "stopped (the person pressed Stop while it was written), or why nothing was done "
    "(empty, not-due, paused, pause-over)",
    ["channel", "outcome"],
)
MESSAGES_FROM_BOTS = Counter(
    "batchbot_messages_from_bots_ignored_total",
    "Messages other bots sent, left out (ANSWER_BOTS is off)",
    ["channel"],
)
ANSWERS_CAPPED = Counter(
    "batchbot_answers_capped_total",
    "Batches not answered because their conversation had ANSWERS_PER_HOUR_MAX answers in "
    "the last hour (two bots answering each other)",
    ["channel"],
)
BATCH_MESSAGES = Histogram(
    "batchbot_batch_messages",
    "Messages per batch sent to the backend",
    buckets=(1, 2, 3, 5, 8, 13, 21, 50, 100, 200),
)
BATCH_WAIT_SECONDS = Histogram(
    "batchbot_batch_wait_seconds",
    "From a batch's first message to its backend call",
    buckets=(0.5, 1, 2, 3, 5, 8, 10, 15, 20, 30, 60, 120, 300),
)
BACKEND_SECONDS = Histogram(
    "batchbot_backend_request_seconds",
    "Backend call duration, by result: ok, retryable, permanent",
    ["result"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60),
)
SEND_ERRORS = Counter(
    "batchbot_send_errors_total",
    "Failed sends to a chat platform, by channel and kind: retry_after, network, server, "
    "recipient_gone, token_refused, bad_request, markup (Telegram: resent as plain text)",
    ["channel", "kind"],
)
REPLY_PARTS_SENT = Counter(
    "batchbot_reply_parts_sent_total", "Messages sent to people, by channel", ["channel"]
)
REPLY_PARTS_REFUSED = Counter(
    "batchbot_reply_parts_refused_total",
    "Reply parts the platform refused for good (never delivered), by channel",
    ["channel"],
)
PROACTIVE_MESSAGES = Counter(
    "batchbot_proactive_messages_total",
    "Proactive messages the workers finished with, by channel and outcome: delivered, "
    "undeliverable (the person cannot be reached, e.g. blocked or outside WhatsApp's 24-hour "
    "window), refused (the platform refused a part of it for good), channel_not_configured, "
    "held (queued while a human has the conversation: sent when the pause ends)",
    ["channel", "outcome"],
)
DEAD_LETTERS = Counter(
    "batchbot_dead_letters_total",
    "Batches kept as dead letters, by channel and cause: backend_rejected, backend_gave_up, "
    "undeliverable (the person cannot be reached, or the platform refused the token), "
    "unavailable (the platform failed past the retry budget), channel_not_configured, "
    "refused (the platform refused a part of the answer for good)",
    ["channel", "cause"],
)

HANDOFFS = Counter(
    "batchbot_handoffs_total",
    "Human takeovers (each extends the pause), by channel and source: owner (a person of "
    "the business wrote in the chat), api (POST /handoff), batchctl, backend (handoff: true)",
    ["channel", "source"],
)

BUSINESS_MESSAGES_NOT_BATCHED = Counter(
    "batchbot_business_messages_not_batched_total",
    "Telegram Business messages left out of batching, by reason: own_echo (sent by the bot "
    "itself), owner (written by the business account: a takeover), not_answerable (the "
    "connection is disabled, may not reply, or is unknown)",
    ["reason"],
)

REDIS_REPLICAS_CONFIRMING = Gauge(
    "batchbot_redis_replicas_confirming",
    "With REDIS_WAIT_REPLICAS: replicas that confirmed the bot's last write; below the "
    "setting, messages are not acknowledged to their platform until enough confirm",
)

# Both: read from Redis when /metrics is scraped, so every process reports the same.
PENDING_CONVERSATIONS = Gauge(
    "batchbot_pending_conversations",
    "Conversations with messages waiting or a batch in flight",
)
DEAD_LETTERS_STORED = Gauge(
    "batchbot_dead_letters_stored", "Dead letters kept in Redis, waiting for replay or purge"
)
