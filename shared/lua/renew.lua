-- includes: lib.lua arq_jobs.lua
-- replicated: yes
-- Renew the lease of a claimed batch, only if this run still holds it.
-- KEYS: 1 inflight, 2 leases, 3 the job's in-progress key (ARQ's lock, held likewise)
-- ARGV: 1 conversation, 2 claim token, 3 lease ms
-- Returns 1 when renewed, 0 when the batch was released or handed to another run, or
-- why it was abandoned (renewed still: its run is releasing it).
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[2] then
  return 0
end
redis.call('ZADD', KEYS[2], now_ms() + tonumber(ARGV[3]), ARGV[1])
hold_job_lock(KEYS[3], tonumber(ARGV[3]))
return redis.call('HGET', KEYS[1], 'abandoned') or 1
