-- How a script drives a conversation's ARQ job. Together with shared/arq_layout.py (key
-- names and the job payload) this is everything batchbot knows about ARQ's internals;
-- no other script touches ARQ's keys except through these functions.
--
-- Scripts that schedule follow one layout, built by shared.redis_scripts.job_script_call:
--   KEYS end with the job's queue, job and in-progress keys;
--   ARGV start with the conversation, the job id, the job payload and the key TTL (s).

local function conversation_job()
  local n = #KEYS
  return {queue = KEYS[n - 2], key = KEYS[n - 1], in_progress = KEYS[n],
          conversation = ARGV[1], id = ARGV[2], payload = ARGV[3], ttl = tonumber(ARGV[4])}
end

-- ARQ holds the in-progress key while a worker runs the job: leave the queue alone then.
local function job_running(job)
  return redis.call('EXISTS', job.in_progress) == 1
end

-- When the queued job runs (ms), or nil when it is not queued.
local function job_run_at(job)
  local score = redis.call('ZSCORE', job.queue, job.id)
  return score and tonumber(score)
end

-- Run the job at run_at: a queued job is moved (its score is its run time), otherwise
-- it is created. Returns 'moved' or 'created'.
local function queue_job(job, run_at)
  if job_run_at(job) then
    redis.call('ZADD', job.queue, 'XX', run_at, job.id)
    redis.call('SET', job.key, job.payload, 'EX', job.ttl, 'NX')
    return 'moved'
  end
  redis.call('SET', job.key, job.payload, 'EX', job.ttl)
  redis.call('ZADD', job.queue, run_at, job.id)
  return 'created'
end

-- Take a job that is not running off the queue.
local function drop_job(job)
  redis.call('ZREM', job.queue, job.id)
  redis.call('DEL', job.key)
end

-- ARQ's own end of a finished job that keeps no result (its finish_job): the lock, the
-- try count and the job are deleted and the job leaves the abort set and the queue.
local function finish_job(job, retry_key, abort_set)
  redis.call('DEL', job.in_progress, retry_key, job.key)
  redis.call('ZREM', abort_set, job.id)
  redis.call('ZREM', job.queue, job.id)
end

-- Free a job whose worker is gone: ARQ would otherwise wait for its in-progress key to
-- expire (the job timeout plus 10 s) before any worker may run the job again.
local function release_job_lock(job)
  redis.call('DEL', job.in_progress)
end

-- Keep ARQ's lock on a running job for ms more, instead of the job timeout plus 10 s it
-- was set to: should the worker die, ARQ itself runs the job again within ms. Only if
-- it is there: a renewal that lands after ARQ ended the run must not lock the job again.
local function hold_job_lock(in_progress_key, ms)
  if redis.call('EXISTS', in_progress_key) == 1 then
    redis.call('PEXPIRE', in_progress_key, ms)
  end
end

-- The same for a run's claim, which sets the lock rather than extends it: ARQ's pick
-- wrote it without waiting for a replica, so a failover right after the pick can lose
-- it, and then another worker's poll takes the job and resumes the batch from under this
-- run (both send). The claim waits for its replicas; the lock it sets holds.
local function claim_job_lock(in_progress_key, ms)
  redis.call('SET', in_progress_key, '1', 'PX', ms)
end

-- How long ago ARQ took the lock of a running job, from what is left of its TTL: ARQ
-- sets it to lock_ms (the job timeout plus 10 s) when a worker picks the job up.
local function job_lock_age(job, lock_ms)
  return lock_ms - redis.call('PTTL', job.in_progress)
end


-- ARQ's pick of a due job, in one call (ARQ itself spends four round trips: WATCH the
-- lock, EXISTS, ZSCORE, then MULTI/PSETEX/EXEC): take the lock for lock_ms unless the job
-- runs already, left the queue, or is not due by now_ms. Returns the job's score (its
-- run time, ms), or false.
local function take_job(job, now_ms, lock_ms)
  if job_running(job) then
    return false
  end
  local run_at = job_run_at(job)
  if not run_at or run_at > now_ms then
    return false
  end
  redis.call('PSETEX', job.in_progress, lock_ms, '1')
  return run_at
end
