-- includes: lib.lua arq_jobs.lua
-- replicated: yes
-- Renew the lease of a claimed batch, only if this run still holds it.
-- KEYS: 1 inflight, 2 leases, 3 the job's in-progress key (ARQ's lock, held likewise)
-- ARGV: 1 conversation, 2 claim token, 3 lease ms
-- Returns {'renewed', why it was abandoned ('' if not: an abandoned batch is renewed
-- still, its run is releasing it)} or {'lost', ''} when the batch was released or
-- handed to another run.
local inflight_key = KEYS[1]
local leases = KEYS[2]
local in_progress_key = KEYS[3]
local conversation = ARGV[1]
local claim_token = ARGV[2]
local lease_ms = tonumber(ARGV[3])
if redis.call('HGET', inflight_key, 'token') ~= claim_token then
  return {'lost', ''}
end
redis.call('ZADD', leases, now_ms() + lease_ms, conversation)
hold_job_lock(in_progress_key, lease_ms)
return {'renewed', redis.call('HGET', inflight_key, 'abandoned') or ''}
