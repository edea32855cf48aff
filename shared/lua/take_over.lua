-- Hand a batch whose lease lapsed (its worker died or stalled) to another worker now.
-- The next run of the job resumes it under a new claim token, so the old run, should it
-- wake up, can neither store, send nor release anything of it.
-- KEYS: 1 leases, 2 inflight, 3 pending index, 4-6 the job (arq_jobs.lua)
-- ARGV: 1-4 the job layout (conversation, job id, job payload, key ttl s)
-- Returns 'taken-over', 'alive' (the lease was renewed meanwhile) or 'gone'.
local now = now_ms()
local job = conversation_job()
local conversation = ARGV[1]
local lease_until = redis.call('ZSCORE', KEYS[1], conversation)
if lease_until and tonumber(lease_until) > now then
  return 'alive'
end
redis.call('ZREM', KEYS[1], conversation)
if redis.call('EXISTS', KEYS[2]) == 0 then
  return 'gone'
end
release_job_lock(job)
queue_job(job, now)
redis.call('ZADD', KEYS[3], now, conversation)
return 'taken-over'
