-- includes: lib.lua
-- replicated: yes
-- This run is over but the batch is not (a retry is queued, or the run failed): drop its
-- lease, so nobody takes over a batch that only waits for its retry, and have the sweep
-- look at it again when the retry is due.
-- KEYS: 1 inflight, 2 leases, 3 pending index
-- ARGV: 1 conversation, 2 claim token, 3 retry in ms
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[2] then
  return 0
end
redis.call('ZREM', KEYS[2], ARGV[1])
local now = now_ms()
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[3]), ARGV[1])
count_in_stats(now, 'retries')
return 1
