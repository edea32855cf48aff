-- includes: lib.lua arq_jobs.lua
-- replicated: yes
-- Store one incoming message and (re)schedule its conversation's batch job, atomically.
-- KEYS: 1 batch, 2 info (its `seen` field: recent message ids), 3 inflight,
--       4 pending index, 5 handoff, 6 held, 7-9 the job (arq_jobs.lua)
-- ARGV: 1-4 the job layout (conversation, job id, job payload, key ttl s),
--       5 message id, 6 message JSON, 7 chat JSON ('' for the person's private chat),
--       8 user JSON,
--       9 window ms, 10 max wait ms, 11 max messages, 12 seen ids kept, 13 seen ttl s,
--       14 max pending messages, 15 max pending bytes, 16 max message bytes,
--       17 album grace ms (0: not an album item), 18 supersede (1: a message before any
--       part of the answer went abandons the claimed batch)
-- Returns {status, pending count, deadline ms, now ms, scheduling or refusal reason}
local now = now_ms()
local job = conversation_job()
local conversation, message_id, message = ARGV[1], ARGV[5], ARGV[6]

-- A redelivered update carries a message id we already stored: keep the first copy.
local seen = redis.call('HGET', KEYS[2], 'seen') or ''
local token = seen_token(message_id)
if was_seen(seen, token) then
  return {'duplicate', redis.call('LLEN', KEYS[1]), 0, now, ''}
end

-- Abuse bounds: refuse what would grow Redis without limit; the id is not remembered,
-- so a redelivery later, when there is room, is not taken for a duplicate.
local size = #message
local pending = redis.call('LLEN', KEYS[1])
local pending_bytes = tonumber(redis.call('HGET', KEYS[2], 'bytes')) or 0
local refusal = nil
if size > tonumber(ARGV[16]) then
  refusal = 'message-too-large'
elseif pending >= tonumber(ARGV[14]) then
  refusal = 'too-many-pending'
elseif pending_bytes + size > tonumber(ARGV[15]) then
  refusal = 'too-many-pending-bytes'
end
if refusal then
  count_in_stats(now, 'refused')
  return {'refused', pending, 0, now, refusal}
end
remember_seen(KEYS[2], seen, token, tonumber(ARGV[12]))
redis.call('EXPIRE', KEYS[2], math.max(job.ttl, tonumber(ARGV[13])))

count_in_stats(now, 'messages_in')
-- A human has the conversation: the message is kept for them (and the history), in
-- order, and the job runs when the pause ends, to hand it on.
local paused_until = redis.call('HGET', KEYS[5], 'until')
if paused_until then
  local held = redis.call('RPUSH', KEYS[6], message)
  redis.call('EXPIRE', KEYS[6], math.ceil(redis.call('PTTL', KEYS[5]) / 1000) + job.ttl)
  if redis.call('EXISTS', KEYS[3]) == 1 or job_running(job) then
    return {'stored', held, tonumber(paused_until), now, 'held'}
  end
  redis.call('ZADD', KEYS[4], paused_until, conversation)
  queue_job(job, tonumber(paused_until))
  return {'stored', held, tonumber(paused_until), now, 'held'}
end

-- The person added more before any part of the answer went: the claimed batch is
-- abandoned and its messages come back in front of this one, as one burst that keeps
-- its first message's time. Past BATCH_MAX_WAIT_SECONDS from there it is not abandoned:
-- a person who never pauses is answered at the cap.
local superseded = false
local claimed = ARGV[18] == '1' and redis.call('HMGET', KEYS[3], 'messages', 'first_at')
local items = claimed and claimed[1] and claimed_messages(claimed[1])
if items and now < tonumber(claimed[2]) + tonumber(ARGV[10]) and unanswered(KEYS[3]) then
  for i = #items, 1, -1 do
    redis.call('LPUSH', KEYS[1], items[i])
    pending_bytes = pending_bytes + #items[i]
  end
  pending = pending + #items
  redis.call('HSET', KEYS[2], 'bytes', pending_bytes, 'first_at', claimed[2])
  abandon(KEYS[3], conversation, 'superseded')
  superseded = true
end
insert_in_order(KEYS[1], message)
redis.call('HINCRBY', KEYS[2], 'bytes', size)
local count = pending + 1
local first = tonumber(redis.call('HGET', KEYS[2], 'first_at')) or now
local deadline = math.min(now + tonumber(ARGV[9]), first + tonumber(ARGV[10]))
if count >= tonumber(ARGV[11]) then
  deadline = now
end
-- An album arrives as separate messages a moment apart: hold the batch for the next
-- item, past the max wait and max size, so the album is never split.
local album_grace = tonumber(ARGV[17])
if album_grace > 0 then
  redis.call('HSET', KEYS[2], 'album_until', now + album_grace)
end
local album_until = tonumber(redis.call('HGET', KEYS[2], 'album_until')) or 0
deadline = math.max(deadline, album_until)
redis.call('HSET', KEYS[2], 'first_at', first, 'deadline', deadline, 'user', ARGV[8])
if ARGV[7] == '' then
  redis.call('HDEL', KEYS[2], 'chat')
else
  redis.call('HSET', KEYS[2], 'chat', ARGV[7])
end
redis.call('EXPIRE', KEYS[1], job.ttl)

-- While a batch of this conversation is claimed or its job is running, the queue is
-- left alone: the job's end schedules these messages as the next batch.
if superseded and not job_running(job) then
  -- The abandoned batch waits for a retry: its job runs now, releases it, and the burst
  -- goes when due, not at the retry's time.
  redis.call('ZADD', KEYS[4], now, conversation)
  queue_job(job, now)
end
if redis.call('EXISTS', KEYS[3]) == 1 then
  return {'stored', count, deadline, now, superseded and 'superseding' or 'behind-running'}
end
redis.call('ZADD', KEYS[4], deadline, conversation)
if job_running(job) then
  return {'stored', count, deadline, now, 'behind-running'}
end
return {'stored', count, deadline, now, queue_job(job, deadline)}
