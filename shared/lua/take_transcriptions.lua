-- includes: lib.lua
-- replicated: yes
-- Lease the voice notes due for transcription to this worker: each stays in the queue,
-- scored by its lease's end, so a worker that dies lets another take it then; the worker
-- renews the lease while it works, and transcript.lua takes the item off the queue.
-- KEYS: 1 transcriptions queue
-- ARGV: 1 lease ms, 2 most items to take
-- Returns the items' keys (transcription:<conversation>:<message id>).
local transcriptions_queue = KEYS[1]
local lease_ms = tonumber(ARGV[1])
local most = tonumber(ARGV[2])
local now = now_ms()
local taken = redis.call('ZRANGEBYSCORE', transcriptions_queue, '-inf', now, 'LIMIT', 0, most)
for _, item in ipairs(taken) do
  redis.call('ZADD', transcriptions_queue, now + lease_ms, item)
end
return taken
