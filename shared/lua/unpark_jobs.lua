-- includes: (nothing)
-- replicated: no (the sweep redoes it: every worker unparks each second)
-- A tenant's batch ended (or a worker's watch looks): its slot is free, so its parked
-- jobs go back to ARQ's queue, earliest first, as many as its limit now allows.
-- KEYS: 1 ARQ's queue, 2 the tenant's running set, 3 its parked set, 4 the set of
--       tenants with parked jobs
-- ARGV: 1 the job that ended ('' when none), 2 now (ms), 3 the tenant's limit, 4 tenant
-- Returns how many jobs went back to the queue
local queue = KEYS[1]
local running_key = KEYS[2]
local parked_key = KEYS[3]
local parked_tenants = KEYS[4]
local ended_job = ARGV[1]
local now_ms = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local tenant = ARGV[4]
if ended_job ~= '' then
  redis.call('ZREM', running_key, ended_job)
end
redis.call('ZREMRANGEBYSCORE', running_key, '-inf', now_ms)
local free = limit - redis.call('ZCARD', running_key)
local moved = 0
if free > 0 then
  local parked = redis.call('ZRANGE', parked_key, 0, free - 1, 'WITHSCORES')
  for i = 1, #parked, 2 do
    redis.call('ZADD', queue, parked[i + 1], parked[i])
    redis.call('ZREM', parked_key, parked[i])
    moved = moved + 1
  end
end
if redis.call('ZCARD', parked_key) == 0 then
  redis.call('SREM', parked_tenants, tenant)
end
return moved
