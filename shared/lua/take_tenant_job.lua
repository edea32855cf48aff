-- includes: arq_jobs.lua
-- replicated: no (ARQ's pick in the poll loop; the claim then sets the lock with a wait)
-- A worker's poll takes a due job of a tenant with a limit on batches in flight
-- (MAX_BATCHES_IN_FLIGHT), or, when the tenant is at its limit, parks the job out of
-- ARQ's queue so the polls see the other tenants' due jobs: one tenant's backlog does
-- not stand in front of another's deadlines. A parked job goes back to the queue, at
-- its own time, when one of the tenant's batches ends (unpark_jobs.lua).
-- KEYS: 1 ARQ's queue, 2 the job's in-progress key, 3 the tenant's running set (job id
--       -> when its lock lapses, ms), 4 the tenant's parked set (job id -> its run time),
--       5 the set of tenants with parked jobs
-- ARGV: 1 job id, 2 the worker's clock (ms), 3 lock ms, 4 the tenant's limit, 5 tenant
-- Returns the job's score (ms); 0 when another worker has it, it is gone or not due;
-- -1 when it was parked
local queue = KEYS[1]
local in_progress_key = KEYS[2]
local running_key = KEYS[3]
local parked_key = KEYS[4]
local parked_tenants = KEYS[5]
local job_id = ARGV[1]
local worker_now_ms = tonumber(ARGV[2])
local lock_ms = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
local tenant = ARGV[5]
local job = {queue = queue, in_progress = in_progress_key, id = job_id}
if job_running(job) then
  return 0
end
local run_at = job_run_at(job)
if not run_at or run_at > worker_now_ms then
  return 0
end
-- A worker that died holds its slots only until their locks lapse.
redis.call('ZREMRANGEBYSCORE', running_key, '-inf', worker_now_ms)
if redis.call('ZCARD', running_key) >= limit then
  redis.call('ZREM', queue, job_id)
  redis.call('ZADD', parked_key, run_at, job_id)
  redis.call('SADD', parked_tenants, tenant)
  return -1
end
redis.call('PSETEX', in_progress_key, lock_ms, '1')
redis.call('ZADD', running_key, worker_now_ms + lock_ms, job_id)
return run_at
