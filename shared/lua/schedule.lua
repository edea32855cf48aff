-- includes: lib.lua arq_jobs.lua
-- replicated: no (the sweep makes any schedule again; nothing is acknowledged on it)
-- Make sure a conversation with work has a job: run when a job ends (as ARQ's end of the
-- job itself, in the same call, with ARGV 7) and by the sweep.
-- A job ARQ handed to a worker that died before claiming (no lease yet) is freed once
-- its lock is older than the lease: ARQ would hold it for the job timeout plus 10 s.
-- Messages held for a human get the job when the pause ends, to hand them on.
-- KEYS: 1 batch, 2 info, 3 inflight, 4 pending index, 5 outbox, 6 leases, 7 handoff,
--       8 held, 9 ARQ's try count of the job, 10 ARQ's abort set, 11-13 the job
--       (arq_jobs.lua)
-- ARGV: 1-4 the job layout (conversation, job id, job payload, key ttl s),
--       5 lease ms (0: no check of the lock), 6 ARQ's lock ms (job timeout + 10 s),
--       7 '1': this worker's run of the job has ended; end it as ARQ would, first
-- Returns {state, run at ms}
local now = now_ms()
local job = conversation_job()
local conversation = ARGV[1]

if ARGV[7] == '1' then
  finish_job(job, KEYS[9], KEYS[10])
end

if job_running(job) then
  local lease_ms = tonumber(ARGV[5])
  -- (A job sending proactive messages holds no lease: it keeps ARQ's lock.)
  local unclaimed = lease_ms > 0 and not redis.call('ZSCORE', KEYS[6], conversation)
    and redis.call('LLEN', KEYS[5]) == 0
  if not (unclaimed and job_lock_age(job, tonumber(ARGV[6])) > lease_ms) then
    return {'running', 0}
  end
  release_job_lock(job)
end
local queued_at = job_run_at(job)

if redis.call('EXISTS', KEYS[3]) == 1 then
  -- A claimed batch: either a retry is queued, or its job was lost (crash, max tries).
  if queued_at then
    return {'queued', queued_at}
  end
  queue_job(job, now)
  redis.call('ZADD', KEYS[4], now, conversation)
  return {'rescheduled', now}
end

local outbox_waiting = redis.call('LLEN', KEYS[5]) > 0
local paused_until = tonumber(redis.call('HGET', KEYS[7], 'until'))
-- Messages held for a human, or proactive ones waiting while a human has the
-- conversation: the job runs when the pause ends (at once if it has ended).
if redis.call('LLEN', KEYS[1]) == 0
    and (redis.call('LLEN', KEYS[8]) > 0 or (outbox_waiting and paused_until)) then
  local run_at = paused_until or now
  redis.call('ZADD', KEYS[4], run_at, conversation)
  if queue_job(job, run_at) == 'moved' then
    return {'queued', run_at}
  end
  return {'scheduled', run_at}
end
if redis.call('LLEN', KEYS[1]) == 0 and not outbox_waiting then
  redis.call('ZREM', KEYS[4], conversation)
  forget_pending(KEYS[2])
  return {'idle', 0}
end
local deadline = tonumber(redis.call('HGET', KEYS[2], 'deadline')) or now
if outbox_waiting then
  deadline = now  -- proactive messages go out at once
end
redis.call('ZADD', KEYS[4], deadline, conversation)
if queue_job(job, deadline) == 'moved' then
  -- Its job is queued and due, waiting for a free worker: the sweep looks again in a
  -- lease, not every second (a backlog of thousands would cost as many calls a second).
  if deadline < now and tonumber(ARGV[5]) > 0 then
    redis.call('ZADD', KEYS[4], now + tonumber(ARGV[5]), conversation)
  end
  return {'queued', deadline}
end
return {'scheduled', deadline}
