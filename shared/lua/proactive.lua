-- includes: lib.lua arq_jobs.lua
-- replicated: yes
-- Queue messages the backend sends on its own, delivered by the conversation's job so
-- they never interleave with a reply being sent; due now unless a batch is in flight
-- (then they follow its reply) or a human has the conversation (then they wait for the
-- pause to end: nothing is sent over a human).
-- KEYS: 1 outbox, 2 inflight, 3 pending index, 4 handoff, 5-7 the job (arq_jobs.lua)
-- ARGV: 1-4 the job layout (conversation, job id, job payload, key ttl s), 5.. message JSON
-- Returns {scheduling, messages waiting, paused until ms (0: not paused)}
local now = now_ms()
local job = conversation_job()
for i = 5, #ARGV do
  redis.call('RPUSH', KEYS[1], ARGV[i])
end
redis.call('EXPIRE', KEYS[1], job.ttl)
local waiting = redis.call('LLEN', KEYS[1])
local paused_until = tonumber(redis.call('HGET', KEYS[4], 'until'))
if paused_until then
  -- Kept past the pause: the outbox must outlive it.
  redis.call('EXPIRE', KEYS[1], math.ceil((paused_until - now) / 1000) + job.ttl)
  if redis.call('EXISTS', KEYS[2]) == 0 and not job_running(job) then
    redis.call('ZADD', KEYS[3], paused_until, ARGV[1])
    queue_job(job, paused_until)
  end
  return {'held', waiting, paused_until}
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  return {'behind-batch', waiting, 0}
end
redis.call('ZADD', KEYS[3], now, ARGV[1])
if job_running(job) then
  return {'behind-running', waiting, 0}
end
return {queue_job(job, now), waiting, 0}
