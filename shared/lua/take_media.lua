-- includes: lib.lua
-- replicated: yes
-- Lease the media items due (voice notes, photos) to this worker: each stays in the queue,
-- scored by its lease's end, so a worker that dies lets another take it then; the worker
-- renews the lease while it works, and transcript.lua takes the item off the queue.
-- KEYS: 1 media queue
-- ARGV: 1 lease ms, 2 most items to take
-- Returns the items' keys (media-item:<conversation>:<message id>).
local media_queue = KEYS[1]
local lease_ms = tonumber(ARGV[1])
local most = tonumber(ARGV[2])
local now = now_ms()
local taken = redis.call('ZRANGEBYSCORE', media_queue, '-inf', now, 'LIMIT', 0, most)
for _, item in ipairs(taken) do
  redis.call('ZADD', media_queue, now + lease_ms, item)
end
return taken
