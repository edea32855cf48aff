-- includes: arq_jobs.lua
-- replicated: no (ARQ's pick in the poll loop; the claim then sets the lock with a wait)
-- A worker's poll takes a due job (any ARQ job, batch or not) in one round trip.
-- KEYS: 1 ARQ's queue, 2 the job's in-progress key
-- ARGV: 1 job id, 2 the worker's clock (ms, as ARQ compares), 3 lock ms (ARQ's
--       in-progress timeout)
-- Returns the job's score (ms), or false when another worker has it, it is gone or not due
local queue = KEYS[1]
local in_progress_key = KEYS[2]
local job_id = ARGV[1]
local worker_now_ms = tonumber(ARGV[2])
local lock_ms = tonumber(ARGV[3])
local job = {queue = queue, in_progress = in_progress_key, id = job_id}
return take_job(job, worker_now_ms, lock_ms)
