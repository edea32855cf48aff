-- includes: lib.lua arq_jobs.lua
-- replicated: yes
-- Store one incoming message and (re)schedule its conversation's batch job, atomically.
-- KEYS: 1 batch, 2 info (its `seen` field: recent message ids), 3 inflight,
--       4 pending index, 5 handoff, 6 held, 7 transcribing (voice notes the batch waits
--       for), 8 media queue, 9 this message's media item,
--       10-12 the job (arq_jobs.lua)
-- ARGV: 1-4 the job layout (conversation, job id, job payload, key ttl s),
--       5 message id, 6 message JSON, 7 chat JSON ('' for the person's private chat),
--       8 user JSON,
--       9 window ms, 10 max wait ms, 11 max messages, 12 seen ids kept, 13 seen ttl s,
--       14 max pending messages, 15 max pending bytes, 16 max message bytes,
--       17 album grace ms (0: not an album item), 18 supersede (1: a message before any
--       part of the answer went abandons the claimed batch), 19 transcription wait ms
--       (0: not transcribed; else how long the batch may wait for its transcript),
--       20 prefetch (1: a photo fetched ahead for a model that sees images; no wait),
--       21 transcription on (1: batches may wait for transcripts; 0 spares every message
--       the two commands that look)
-- Returns {status, pending count, deadline ms, now ms, scheduling or refusal reason}
local batch_key = KEYS[1]
local info_key = KEYS[2]
local inflight_key = KEYS[3]
local pending_index = KEYS[4]
local handoff_key = KEYS[5]
local held_key = KEYS[6]
local transcribing_key = KEYS[7]
local media_queue = KEYS[8]
local media_item_key = KEYS[9]
local message_id = ARGV[5]
local message = ARGV[6]
local chat = ARGV[7]
local user = ARGV[8]
local window_ms = tonumber(ARGV[9])
local max_wait_ms = tonumber(ARGV[10])
local max_messages = tonumber(ARGV[11])
local seen_kept = tonumber(ARGV[12])
local seen_ttl_s = tonumber(ARGV[13])
local max_pending_messages = tonumber(ARGV[14])
local max_pending_bytes = tonumber(ARGV[15])
local max_message_bytes = tonumber(ARGV[16])
local album_grace_ms = tonumber(ARGV[17])
local supersede = ARGV[18]
local transcription_wait_ms = tonumber(ARGV[19])
local prefetch = ARGV[20]
local transcription_on = ARGV[21]
local now = now_ms()
local job = conversation_job()
local conversation = job.conversation

-- A redelivered update carries a message id we already stored: keep the first copy.
local seen = redis.call('HGET', info_key, 'seen') or ''
local token = seen_token(message_id)
if was_seen(seen, token) then
  return {'duplicate', redis.call('LLEN', batch_key), 0, now, ''}
end

-- Abuse bounds: refuse what would grow Redis without limit; the id is not remembered,
-- so a redelivery later, when there is room, is not taken for a duplicate.
local size = #message
local pending = redis.call('LLEN', batch_key)
local pending_bytes = tonumber(redis.call('HGET', info_key, 'bytes')) or 0
local refusal = nil
if size > max_message_bytes then
  refusal = 'message-too-large'
elseif pending >= max_pending_messages then
  refusal = 'too-many-pending'
elseif pending_bytes + size > max_pending_bytes then
  refusal = 'too-many-pending-bytes'
end
if refusal then
  count_in_stats(now, 'refused')
  return {'refused', pending, 0, now, refusal}
end
remember_seen(info_key, seen, token, seen_kept)
redis.call('EXPIRE', info_key, math.max(job.ttl, seen_ttl_s))

count_in_stats(now, 'messages_in')
-- A voice note is transcribed while the person still writes: any worker takes it from
-- the queue (worker/transcribing.py), and the batch waits for its transcript, at most
-- the transcription wait, counted also from the max wait (transcript.lua ends the wait).
-- A photo for a model that sees images is fetched ahead the same way, with no wait.
if transcription_wait_ms > 0 then
  local first_at = tonumber(redis.call('HGET', info_key, 'first_at')) or now
  local wait_until = math.min(now, first_at + max_wait_ms) + transcription_wait_ms
  redis.call('ZADD', transcribing_key, wait_until, message_id)
  redis.call('EXPIRE', transcribing_key, job.ttl)
end
if transcription_wait_ms > 0 or prefetch == '1' then
  redis.call('HSET', media_item_key, 'conversation', conversation, 'message_id', message_id,
    'message', message, 'attempts', 0)
  redis.call('EXPIRE', media_item_key, job.ttl)
  redis.call('ZADD', media_queue, now, media_item_key)
end
-- A human has the conversation: the message is kept for them (and the history), in
-- order, and the job runs when the pause ends, to hand it on.
local paused_until = redis.call('HGET', handoff_key, 'until')
if paused_until then
  local held = redis.call('RPUSH', held_key, message)
  redis.call('EXPIRE', held_key, math.ceil(redis.call('PTTL', handoff_key) / 1000) + job.ttl)
  if redis.call('EXISTS', inflight_key) == 1 or job_running(job) then
    return {'stored', held, tonumber(paused_until), now, 'held'}
  end
  redis.call('ZADD', pending_index, paused_until, conversation)
  queue_job(job, tonumber(paused_until))
  return {'stored', held, tonumber(paused_until), now, 'held'}
end

-- The person added more before any part of the answer went: the claimed batch is
-- abandoned and its messages come back in front of this one, as one burst that keeps
-- its first message's time. Past BATCH_MAX_WAIT_SECONDS from there it is not abandoned:
-- a person who never pauses is answered at the cap.
local superseded = false
local claimed = supersede == '1' and redis.call('HMGET', inflight_key, 'messages', 'first_at')
local items = claimed and claimed[1] and claimed_messages(claimed[1])
if items and now < tonumber(claimed[2]) + max_wait_ms and unanswered(inflight_key) then
  for i = #items, 1, -1 do
    redis.call('LPUSH', batch_key, items[i])
    pending_bytes = pending_bytes + #items[i]
  end
  pending = pending + #items
  redis.call('HSET', info_key, 'bytes', pending_bytes, 'first_at', claimed[2])
  abandon(inflight_key, conversation, 'superseded')
  superseded = true
end
insert_in_order(batch_key, message)
redis.call('HINCRBY', info_key, 'bytes', size)
local count = pending + 1
local first = tonumber(redis.call('HGET', info_key, 'first_at')) or now
local deadline = math.min(now + window_ms, first + max_wait_ms)
if count >= max_messages then
  deadline = now
end
-- An album arrives as separate messages a moment apart: hold the batch for the next
-- item, past the max wait and max size, so the album is never split.
if album_grace_ms > 0 then
  redis.call('HSET', info_key, 'album_until', now + album_grace_ms)
end
local album_until = tonumber(redis.call('HGET', info_key, 'album_until')) or 0
deadline = math.max(deadline, album_until)
-- What the window says ('due'), and when the batch goes: not before the transcripts it
-- waits for are stored (or their wait is over).
local due = deadline
if transcription_on == '1' then
  redis.call('ZREMRANGEBYSCORE', transcribing_key, '-inf', now)
  local waited_for = redis.call('ZRANGE', transcribing_key, -1, -1, 'WITHSCORES')
  if waited_for[2] then
    deadline = math.max(deadline, tonumber(waited_for[2]))
  end
end
redis.call('HSET', info_key, 'first_at', first, 'deadline', deadline, 'due', due, 'user', user)
if chat == '' then
  redis.call('HDEL', info_key, 'chat')
else
  redis.call('HSET', info_key, 'chat', chat)
end
redis.call('EXPIRE', batch_key, job.ttl)

-- While a batch of this conversation is claimed or its job is running, the queue is
-- left alone: the job's end schedules these messages as the next batch.
if superseded and not job_running(job) then
  -- The abandoned batch waits for a retry: its job runs now, releases it, and the burst
  -- goes when due, not at the retry's time.
  redis.call('ZADD', pending_index, now, conversation)
  queue_job(job, now)
end
if redis.call('EXISTS', inflight_key) == 1 then
  return {'stored', count, deadline, now, superseded and 'superseding' or 'behind-running'}
end
redis.call('ZADD', pending_index, deadline, conversation)
if job_running(job) then
  return {'stored', count, deadline, now, 'behind-running'}
end
return {'stored', count, deadline, now, queue_job(job, deadline)}
