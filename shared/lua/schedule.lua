-- Make sure a conversation with work has a job: run when a job ends and by the sweep.
-- KEYS: 1 batch, 2 info, 3 inflight, 4 pending index, 5 arq queue, 6 arq job, 7 arq in-progress,
--       8 outbox
-- ARGV: 1 conversation, 2 job id, 3 job payload, 4 key ttl s
-- Returns {state, run at ms}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local conversation, job_id, ttl = ARGV[1], ARGV[2], tonumber(ARGV[4])

if redis.call('EXISTS', KEYS[7]) == 1 then
  return {'running', 0}
end
local queued = redis.call('ZSCORE', KEYS[5], job_id)

local function create(run_at)
  redis.call('SET', KEYS[6], ARGV[3], 'EX', ttl)
  redis.call('ZADD', KEYS[5], run_at, job_id)
end

if redis.call('EXISTS', KEYS[3]) == 1 then
  -- A claimed batch: either a retry is queued, or its job was lost (crash, max tries).
  if queued then
    return {'queued', tonumber(queued)}
  end
  create(now)
  redis.call('ZADD', KEYS[4], now, conversation)
  return {'rescheduled', now}
end

local outbox_waiting = redis.call('LLEN', KEYS[8]) > 0
if redis.call('LLEN', KEYS[1]) == 0 and not outbox_waiting then
  redis.call('ZREM', KEYS[4], conversation)
  redis.call('DEL', KEYS[2])
  return {'idle', 0}
end
local deadline = tonumber(redis.call('HGET', KEYS[2], 'deadline')) or now
if outbox_waiting then
  deadline = now  -- proactive messages go out at once
end
redis.call('ZADD', KEYS[4], deadline, conversation)
if queued then
  redis.call('ZADD', KEYS[5], 'XX', deadline, job_id)
  redis.call('SET', KEYS[6], ARGV[3], 'EX', ttl, 'NX')
  return {'queued', deadline}
end
create(deadline)
return {'scheduled', deadline}
