-- includes: lib.lua arq_jobs.lua
-- replicated: yes
-- Claim the due pending messages of a conversation as one batch with a stable id.
-- A re-run after a crash gets the batch it claimed before, answer and progress included.
-- Every claim, new or resumed, gets a new claim token and a lease: the writes of this
-- run check the token, and the lease (renewed while the run lives) lets another worker
-- take the batch over within seconds should this one die.
-- While a human has the conversation (handoff:<conversation>) nothing is claimed; once
-- the pause is over, what was held during it is handed back first (for the history).
-- KEYS: 1 batch, 2 info, 3 inflight, 4 pending index, 5 outbox, 6 leases,
--       7 the job's in-progress key (ARQ's lock, held for the lease: arq_jobs.lua),
--       8 handoff, 9 held, 10 answers (release.lua records each answered batch)
-- ARGV: 1 conversation, 2 new batch id, 3 max messages, 4 recheck after ms, 5 key ttl s,
--       6 early tolerance ms, 7 claim token, 8 lease ms, 9 answers' window ms
-- Returns {state, deadline ms (a pause's end when paused), now ms, answers in the window
-- (claimed or resumed, else 0), then the claimed batch's fields and values, or the items
-- held during a pause that is over}
local batch_key = KEYS[1]
local info_key = KEYS[2]
local inflight_key = KEYS[3]
local pending_index = KEYS[4]
local outbox_key = KEYS[5]
local leases = KEYS[6]
local in_progress_key = KEYS[7]
local handoff_key = KEYS[8]
local held_key = KEYS[9]
local answers_key = KEYS[10]
local conversation = ARGV[1]
local batch_id = ARGV[2]
local max_messages = tonumber(ARGV[3])
local recheck_after_ms = tonumber(ARGV[4])
local key_ttl_s = tonumber(ARGV[5])
local early_tolerance_ms = tonumber(ARGV[6])
local claim_token = ARGV[7]
local lease_ms = tonumber(ARGV[8])
local answers_window_ms = tonumber(ARGV[9])
local now = now_ms()
local recheck_at = now + recheck_after_ms

local function reply(state, deadline)
  redis.call('ZREMRANGEBYSCORE', answers_key, '-inf', now - answers_window_ms)
  local out = {state, deadline, now, redis.call('ZCARD', answers_key)}
  for _, v in ipairs(redis.call('HGETALL', inflight_key)) do
    table.insert(out, v)
  end
  return out
end

local lease_until = now + lease_ms
claim_job_lock(in_progress_key, lease_ms)
if redis.call('EXISTS', inflight_key) == 1 then
  redis.call('HSET', inflight_key, 'token', claim_token)
  redis.call('ZADD', leases, lease_until, conversation)
  redis.call('ZADD', pending_index, recheck_at, conversation)
  return reply('resumed', tonumber(redis.call('HGET', inflight_key, 'deadline')) or 0)
end
local paused_until = redis.call('HGET', handoff_key, 'until')
if paused_until then
  redis.call('ZADD', pending_index, paused_until, conversation)
  return {'paused', tonumber(paused_until), now, 0}
end
if redis.call('LLEN', held_key) > 0 then
  local out = {'pause-over', 0, now, 0}
  for _, item in ipairs(redis.call('LRANGE', held_key, 0, -1)) do
    table.insert(out, item)
  end
  return out
end
if redis.call('LLEN', batch_key) == 0 then
  forget_pending(info_key)
  if redis.call('LLEN', outbox_key) == 0 then  -- else this job delivers it, then reschedules
    redis.call('ZREM', pending_index, conversation)
  end
  return {'empty', 0, now, 0}
end
-- A new message may have moved the deadline just as a worker picked the job up.
local deadline = tonumber(redis.call('HGET', info_key, 'deadline')) or now
if deadline > now + early_tolerance_ms then
  return {'not-due', deadline, now, 0}
end

local last = max_messages - 1
-- A batch cut at max messages never splits an album: its remaining items come along.
local function album_of(json)
  return json and string.match(json, '"media_group_id":"([^"]*)"')
end
local album = album_of(redis.call('LINDEX', batch_key, last))
while album and album_of(redis.call('LINDEX', batch_key, last + 1)) == album do
  last = last + 1
end
local members = redis.call('LRANGE', batch_key, 0, last)
redis.call('LTRIM', batch_key, last + 1, -1)
local profile = redis.call('HMGET', info_key, 'chat', 'user', 'first_at')
redis.call('HSET', inflight_key,
  'batch_id', batch_id, 'conversation', conversation,
  'chat', chat_or_private(profile[1], profile[2]), 'user', profile[2],
  'messages', '[' .. table.concat(members, ',\n') .. ']',
  'first_at', profile[3] or now, 'deadline', deadline, 'claimed_at', now, 'sent', 0,
  'token', claim_token)
redis.call('EXPIRE', inflight_key, key_ttl_s)
redis.call('ZADD', leases, lease_until, conversation)
if redis.call('LLEN', batch_key) == 0 then
  forget_pending(info_key)
else
  -- More than max messages were waiting: the rest have waited long enough already.
  local claimed_bytes = 0
  for _, member in ipairs(members) do
    claimed_bytes = claimed_bytes + #member
  end
  redis.call('HINCRBY', info_key, 'bytes', -claimed_bytes)
  redis.call('HSET', info_key, 'first_at', now, 'deadline', now)
end
redis.call('ZADD', pending_index, recheck_at, conversation)
return reply('claimed', deadline)
