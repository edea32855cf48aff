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
local batch_key = KEYS[1]
local info_key = KEYS[2]
local inflight_key = KEYS[3]
local pending_index = KEYS[4]
local outbox_key = KEYS[5]
local leases = KEYS[6]
local handoff_key = KEYS[7]
local held_key = KEYS[8]
local retry_key = KEYS[9]
local abort_set = KEYS[10]
local lease_ms = tonumber(ARGV[5])
local lock_ms = tonumber(ARGV[6])
local job_ended = ARGV[7]
local now = now_ms()
local job = conversation_job()
local conversation = job.conversation

if job_ended == '1' then
  finish_job(job, retry_key, abort_set)
end

if job_running(job) then
  -- (A job sending proactive messages holds no lease: it keeps ARQ's lock.)
  local unclaimed = lease_ms > 0 and not redis.call('ZSCORE', leases, conversation)
    and redis.call('LLEN', outbox_key) == 0
  if not (unclaimed and job_lock_age(job, lock_ms) > lease_ms) then
    return {'running', 0}
  end
  release_job_lock(job)
end
local queued_at = job_run_at(job)

if redis.call('EXISTS', inflight_key) == 1 then
  -- A claimed batch: either a retry is queued, or its job was lost (crash, max tries).
  if queued_at then
    return {'queued', queued_at}
  end
  queue_job(job, now)
  redis.call('ZADD', pending_index, now, conversation)
  return {'rescheduled', now}
end

local outbox_waiting = redis.call('LLEN', outbox_key) > 0
local paused_until = tonumber(redis.call('HGET', handoff_key, 'until'))
-- Messages held for a human, or proactive ones waiting while a human has the
-- conversation: the job runs when the pause ends (at once if it has ended).
if redis.call('LLEN', batch_key) == 0
    and (redis.call('LLEN', held_key) > 0 or (outbox_waiting and paused_until)) then
  local run_at = paused_until or now
  redis.call('ZADD', pending_index, run_at, conversation)
  if queue_job(job, run_at) == 'moved' then
    return {'queued', run_at}
  end
  return {'scheduled', run_at}
end
if redis.call('LLEN', batch_key) == 0 and not outbox_waiting then
  redis.call('ZREM', pending_index, conversation)
  forget_pending(info_key)
  return {'idle', 0}
end
local deadline = tonumber(redis.call('HGET', info_key, 'deadline')) or now
if outbox_waiting then
  deadline = now  -- proactive messages go out at once
end
redis.call('ZADD', pending_index, deadline, conversation)
if queue_job(job, deadline) == 'moved' then
  -- Its job is queued and due, waiting for a free worker: the sweep looks again in a
  -- lease, not every second (a backlog of thousands would cost as many calls a second).
  if deadline < now and lease_ms > 0 then
    redis.call('ZADD', pending_index, now + lease_ms, conversation)
  end
  return {'queued', deadline}
end
return {'scheduled', deadline}
