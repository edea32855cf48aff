-- Queue messages the backend sends on its own, delivered by the conversation's job so
-- they never interleave with a reply being sent; due now unless a batch is in flight
-- (then they follow its reply).
-- KEYS: 1 outbox, 2 inflight, 3 pending index, 4-6 the job (arq_jobs.lua)
-- ARGV: 1-4 the job layout (conversation, job id, job payload, key ttl s), 5.. message JSON
-- Returns {scheduling, messages waiting}
local now = now_ms()
local job = conversation_job()
for i = 5, #ARGV do
  redis.call('RPUSH', KEYS[1], ARGV[i])
end
redis.call('EXPIRE', KEYS[1], job.ttl)
local waiting = redis.call('LLEN', KEYS[1])
if redis.call('EXISTS', KEYS[2]) == 1 then
  return {'behind-batch', waiting}
end
redis.call('ZADD', KEYS[3], now, ARGV[1])
if job_running(job) then
  return {'behind-running', waiting}
end
return {queue_job(job, now), waiting}
