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
local batch_key = KEYS[1]
local info_key = KEYS[2]
local inflight_key = KEYS[3]
local pending_index = KEYS[4]
local handoff_key = KEYS[5]
local held_key = KEYS[6]
local handoffs_index = KEYS[7]
local source = ARGV[5]
local pause_ms = tonumber(ARGV[6])
local human_turn = ARGV[7]
local held_ttl_s = tonumber(ARGV[8])
local human_message_id = ARGV[9]
local seen_kept = tonumber(ARGV[10])
local now = now_ms()
local job = conversation_job()
local conversation = job.conversation
local until_ms = now + pause_ms

-- A redelivered echo is the same human message: remembered once, like a person's.
if human_message_id ~= '' then
  local seen = redis.call('HGET', info_key, 'seen') or ''
  local token = seen_token(human_message_id)
  if was_seen(seen, token) then
    return {'duplicate', 0, tonumber(redis.call('HGET', handoff_key, 'until')) or 0}
  end
  remember_seen(info_key, seen, token, seen_kept)
  if redis.call('TTL', info_key) < 0 then
    redis.call('EXPIRE', info_key, job.ttl)
  end
end

local since = redis.call('HGET', handoff_key, 'since') or now
redis.call('HSET', handoff_key, 'since', since, 'until', until_ms, 'source', source)
redis.call('PEXPIREAT', handoff_key, until_ms)
redis.call('ZREMRANGEBYSCORE', handoffs_index, '-inf', now)  -- pauses that ran out
redis.call('ZADD', handoffs_index, until_ms, conversation)

local claimed = 'none'
local held = 0
if redis.call('EXISTS', inflight_key) == 1 then
  if unanswered(inflight_key) then
    local joined = redis.call('HGET', inflight_key, 'messages')
    for _, item in ipairs(claimed_messages(joined) or {joined}) do
      redis.call('RPUSH', held_key, item)
      held = held + 1
    end
    abandon(inflight_key, conversation, 'handed_over')
    claimed = 'abandoned'
  elseif not redis.call('HGET', inflight_key, 'abandoned') then
    redis.call('HSET', inflight_key, 'halted', 'handed_over')
    claimed = 'halted'
  end
end
for _, item in ipairs(redis.call('LRANGE', batch_key, 0, -1)) do
  redis.call('RPUSH', held_key, item)
  held = held + 1
end
redis.call('DEL', batch_key)
forget_pending(info_key)
if human_turn ~= '' then
  redis.call('RPUSH', held_key, human_turn)
end
if redis.call('EXISTS', held_key) == 1 then
  redis.call('EXPIRE', held_key, held_ttl_s)
end

-- A running job reschedules at its end (schedule.lua); otherwise the job moves to the
-- pause's end, when it hands the held messages on.
if redis.call('EXISTS', inflight_key) == 0 and not job_running(job) then
  if redis.call('EXISTS', held_key) == 1 then
    redis.call('ZADD', pending_index, until_ms, conversation)
    queue_job(job, until_ms)
  else
    redis.call('ZREM', pending_index, conversation)
    drop_job(job)
  end
end
return {claimed, held, until_ms}
