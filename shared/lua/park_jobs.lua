-- includes: lib.lua
-- replicated: no (a parked job lost in a failover is a job still queued: taken as before)
-- A poll found a tenant at its cap (MAX_BATCHES_IN_FLIGHT): its other due jobs of that
-- poll leave ARQ's queue in one call, so the next polls read the other tenants' jobs.
-- A job running (ARQ leaves it queued until it ends) stays where it is.
-- KEYS: 1 ARQ's queue, 2 the tenant's parked set, 3 the set of tenants with parked jobs
-- ARGV: 1 tenant, 2 ARQ's in-progress key prefix, 3... the job ids
-- Returns how many were parked
local queue = KEYS[1]
local parked_key = KEYS[2]
local parked_tenants = KEYS[3]
local tenant = ARGV[1]
local in_progress_prefix = ARGV[2]
local job_ids = argv_from(3)
local parked = 0
for _, job_id in ipairs(job_ids) do
  local run_at = redis.call('ZSCORE', queue, job_id)
  if run_at and redis.call('EXISTS', in_progress_prefix .. job_id) == 0 then
    redis.call('ZREM', queue, job_id)
    redis.call('ZADD', parked_key, run_at, job_id)
    parked = parked + 1
  end
end
if parked > 0 then
  redis.call('SADD', parked_tenants, tenant)
end
return parked
