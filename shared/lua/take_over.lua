-- includes: lib.lua arq_jobs.lua
-- replicated: yes
-- A human takes the conversation over (or extends their pause), atomically with respect
-- to every claim, append and send of it: what they took over is never answered.
-- The batch at the backend, if nothing of its answer went out, is abandoned and its
-- messages held; if some did, nothing more goes out ('halted'). Pending messages are
-- held too, the human's own message after them, and the job runs when the pause ends.
-- KEYS: 1 batch, 2 info, 3 inflight, 4 pending index, 5 handoff, 6 held, 7 handoffs index,
--       8-10 the job (arq_jobs.lua)
-- ARGV: 1-4 the job layout (conversation, job id, job payload, key ttl s),
--       5 source, 6 pause ms, 7 the human's turn (JSON, '' for none), 8 held ttl s,
--       9 the platform's id of the human's message ('' for none), 10 seen ids kept
-- Returns {the claimed batch: 'none', 'abandoned', 'halted' or 'duplicate' (the platform
-- delivered this human message before: nothing changes); messages held; until ms}
local now = now_ms()
local job = conversation_job()
local conversation = ARGV[1]
local until_ms = now + tonumber(ARGV[6])

-- A redelivered echo is the same human message: remembered once, like a person's.
if ARGV[9] ~= '' then
  local seen = redis.call('HGET', KEYS[2], 'seen') or ''
  local token = seen_token(ARGV[9])
  if was_seen(seen, token) then
    return {'duplicate', 0, tonumber(redis.call('HGET', KEYS[5], 'until')) or 0}
  end
  remember_seen(KEYS[2], seen, token, tonumber(ARGV[10]))
  if redis.call('TTL', KEYS[2]) < 0 then
    redis.call('EXPIRE', KEYS[2], job.ttl)
  end
end

local since = redis.call('HGET', KEYS[5], 'since') or now
redis.call('HSET', KEYS[5], 'since', since, 'until', until_ms, 'source', ARGV[5])
redis.call('PEXPIREAT', KEYS[5], until_ms)
redis.call('ZREMRANGEBYSCORE', KEYS[7], '-inf', now)  -- pauses that ran out
redis.call('ZADD', KEYS[7], until_ms, conversation)

local claimed = 'none'
local held = 0
if redis.call('EXISTS', KEYS[3]) == 1 then
  if unanswered(KEYS[3]) then
    local joined = redis.call('HGET', KEYS[3], 'messages')
    for _, item in ipairs(claimed_messages(joined) or {joined}) do
      redis.call('RPUSH', KEYS[6], item)
      held = held + 1
    end
    abandon(KEYS[3], conversation, 'handed_over')
    claimed = 'abandoned'
  elseif not redis.call('HGET', KEYS[3], 'abandoned') then
    redis.call('HSET', KEYS[3], 'halted', 'handed_over')
    claimed = 'halted'
  end
end
for _, item in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  redis.call('RPUSH', KEYS[6], item)
  held = held + 1
end
redis.call('DEL', KEYS[1])
forget_pending(KEYS[2])
if ARGV[7] ~= '' then
  redis.call('RPUSH', KEYS[6], ARGV[7])
end
if redis.call('EXISTS', KEYS[6]) == 1 then
  redis.call('EXPIRE', KEYS[6], tonumber(ARGV[8]))
end

-- A running job reschedules at its end (schedule.lua); otherwise the job moves to the
-- pause's end, when it hands the held messages on.
if redis.call('EXISTS', KEYS[3]) == 0 and not job_running(job) then
  if redis.call('EXISTS', KEYS[6]) == 1 then
    redis.call('ZADD', KEYS[4], until_ms, conversation)
    queue_job(job, until_ms)
  else
    redis.call('ZREM', KEYS[4], conversation)
    drop_job(job)
  end
end
return {claimed, held, until_ms}
