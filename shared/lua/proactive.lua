-- includes: lib.lua arq_jobs.lua
-- replicated: yes
-- Queue messages the backend sends on its own, delivered by the conversation's job so
-- they never interleave with a reply being sent; due now unless a batch is in flight
-- (then they follow its reply) or a human has the conversation (then they wait for the
-- pause to end: nothing is sent over a human).
-- KEYS: 1 outbox, 2 inflight, 3 pending index, 4 handoff, 5-7 the job (arq_jobs.lua)
-- ARGV: 1-4 the job layout (conversation, job id, job payload, key ttl s), 5.. message JSON
-- Returns {scheduling, messages waiting, paused until ms (0: not paused)}
local outbox_key = KEYS[1]
local inflight_key = KEYS[2]
local pending_index = KEYS[3]
local handoff_key = KEYS[4]
local messages = argv_from(5)
local now = now_ms()
local job = conversation_job()
for _, message in ipairs(messages) do
  redis.call('RPUSH', outbox_key, message)
end
redis.call('EXPIRE', outbox_key, job.ttl)
local waiting = redis.call('LLEN', outbox_key)
local paused_until = tonumber(redis.call('HGET', handoff_key, 'until'))
if paused_until then
  -- Kept past the pause: the outbox must outlive it.
  redis.call('EXPIRE', outbox_key, math.ceil((paused_until - now) / 1000) + job.ttl)
  if redis.call('EXISTS', inflight_key) == 0 and not job_running(job) then
    redis.call('ZADD', pending_index, paused_until, job.conversation)
    queue_job(job, paused_until)
  end
  return {'held', waiting, paused_until}
end
if redis.call('EXISTS', inflight_key) == 1 then
  return {'behind-batch', waiting, 0}
end
redis.call('ZADD', pending_index, now, job.conversation)
if job_running(job) then
  return {'behind-running', waiting, 0}
end
return {queue_job(job, now), waiting, 0}
