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
--       8 handoff, 9 held
-- ARGV: 1 conversation, 2 new batch id, 3 max messages, 4 recheck after ms, 5 key ttl s,
--       6 early tolerance ms, 7 claim token, 8 lease ms
-- Returns {state, deadline ms, now ms, field, value, ...} (fields of the claimed batch),
-- or {'paused', until ms, now ms} or {'pause-over', 0, now ms, held item, ...}
local now = now_ms()
local conversation = ARGV[1]
local recheck_at = now + tonumber(ARGV[4])

local function reply(state, deadline)
  local out = {state, deadline, now}
  for _, v in ipairs(redis.call('HGETALL', KEYS[3])) do
    table.insert(out, v)
  end
  return out
end

local lease_until = now + tonumber(ARGV[8])
claim_job_lock(KEYS[7], tonumber(ARGV[8]))
if redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('HSET', KEYS[3], 'token', ARGV[7])
  redis.call('ZADD', KEYS[6], lease_until, conversation)
  redis.call('ZADD', KEYS[4], recheck_at, conversation)
  return reply('resumed', tonumber(redis.call('HGET', KEYS[3], 'deadline')) or 0)
end
local paused_until = redis.call('HGET', KEYS[8], 'until')
if paused_until then
  redis.call('ZADD', KEYS[4], paused_until, conversation)
  return {'paused', tonumber(paused_until), now}
end
if redis.call('LLEN', KEYS[9]) > 0 then
  local out = {'pause-over', 0, now}
  for _, item in ipairs(redis.call('LRANGE', KEYS[9], 0, -1)) do
    table.insert(out, item)
  end
  return out
end
if redis.call('LLEN', KEYS[1]) == 0 then
  forget_pending(KEYS[2])
  if redis.call('LLEN', KEYS[5]) == 0 then  -- else this job delivers it, then reschedules
    redis.call('ZREM', KEYS[4], conversation)
  end
  return {'empty', 0, now}
end
-- A new message may have moved the deadline just as a worker picked the job up.
local deadline = tonumber(redis.call('HGET', KEYS[2], 'deadline')) or now
if deadline > now + tonumber(ARGV[6]) then
  return {'not-due', deadline, now}
end

local last = tonumber(ARGV[3]) - 1
-- A batch cut at max messages never splits an album: its remaining items come along.
local function album_of(json)
  return json and string.match(json, '"media_group_id":"([^"]*)"')
end
local album = album_of(redis.call('LINDEX', KEYS[1], last))
while album and album_of(redis.call('LINDEX', KEYS[1], last + 1)) == album do
  last = last + 1
end
local members = redis.call('LRANGE', KEYS[1], 0, last)
redis.call('LTRIM', KEYS[1], last + 1, -1)
local profile = redis.call('HMGET', KEYS[2], 'chat', 'user', 'first_at')
redis.call('HSET', KEYS[3],
  'batch_id', ARGV[2], 'conversation', conversation,
  'chat', chat_or_private(profile[1], profile[2]), 'user', profile[2],
  'messages', '[' .. table.concat(members, ',\n') .. ']',
  'first_at', profile[3] or now, 'deadline', deadline, 'claimed_at', now, 'sent', 0,
  'token', ARGV[7])
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[5]))
redis.call('ZADD', KEYS[6], lease_until, conversation)
if redis.call('LLEN', KEYS[1]) == 0 then
  forget_pending(KEYS[2])
else
  -- More than max messages were waiting: the rest have waited long enough already.
  local claimed_bytes = 0
  for _, member in ipairs(members) do
    claimed_bytes = claimed_bytes + #member
  end
  redis.call('HINCRBY', KEYS[2], 'bytes', -claimed_bytes)
  redis.call('HSET', KEYS[2], 'first_at', now, 'deadline', now)
end
redis.call('ZADD', KEYS[4], recheck_at, conversation)
return reply('claimed', deadline)
