-- includes: lib.lua
-- replicated: yes
-- This run is over but the batch is not (a retry is queued, or the run failed): drop its
-- lease, so nobody takes over a batch that only waits for its retry, and have the sweep
-- look at it again when the retry is due.
-- KEYS: 1 inflight, 2 leases, 3 pending index
-- ARGV: 1 conversation, 2 claim token, 3 retry in ms
local inflight_key = KEYS[1]
local leases = KEYS[2]
local pending_index = KEYS[3]
local conversation = ARGV[1]
local claim_token = ARGV[2]
local retry_in_ms = tonumber(ARGV[3])
if redis.call('HGET', inflight_key, 'token') ~= claim_token then
  return 0
end
redis.call('ZREM', leases, conversation)
local now = now_ms()
redis.call('ZADD', pending_index, now + retry_in_ms, conversation)
count_in_stats(now, 'retries')
return 1
