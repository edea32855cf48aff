-- includes: lib.lua arq_jobs.lua
-- replicated: yes
-- A voice note's transcript (or why there is none) written onto the message where it now
-- waits: the pending batch (also after a supersede put it back there) or the messages
-- held for a human. A message already sent without it, or removed, is left alone. The
-- batch waiting for it goes when the window says (at once if that has passed): the
-- transcript starts no new window.
-- KEYS: 1 the media item, 2 media queue, 3 batch, 4 info, 5 inflight,
--       6 held, 7 transcribing, 8 pending index, 9-11 the job (arq_jobs.lua)
-- ARGV: 1-4 the job layout, 5 message id, 6 field ('transcript' or 'transcript_error'),
--       7 its value as a JSON string, 8 duration s (0: none known)
-- Returns 'written', 'held' (written onto a held message), 'gone' (the message was not
-- waiting any more) or 'done' (another run stored this transcription already).
local media_item_key = KEYS[1]
local media_queue = KEYS[2]
local batch_key = KEYS[3]
local info_key = KEYS[4]
local inflight_key = KEYS[5]
local held_key = KEYS[6]
local transcribing_key = KEYS[7]
local pending_index = KEYS[8]
local message_id = ARGV[5]
local field = ARGV[6]
local value = ARGV[7]
local duration = tonumber(ARGV[8])
local now = now_ms()
local job = conversation_job()
local conversation = job.conversation

if not redis.call('ZSCORE', media_queue, media_item_key) then
  return 'done'
end
redis.call('ZREM', media_queue, media_item_key)
redis.call('DEL', media_item_key)
redis.call('ZREM', transcribing_key, message_id)

-- The stored JSON starts with the message id (shared/models.py; test_script_contract):
-- the field is added before its closing brace, the rest left as it was written.
local function with_transcript(item)
  local extra = ',"' .. field .. '":' .. value
  if duration > 0 and not string.find(item, '"duration":', 1, true) then
    extra = extra .. ',"duration":' .. duration
  end
  return string.sub(item, 1, -2) .. extra .. '}'
end

local function write_into(list_key)
  for index, item in ipairs(redis.call('LRANGE', list_key, 0, -1)) do
    if is_message(item, message_id) then
      local written = with_transcript(item)
      redis.call('LSET', list_key, index - 1, written)
      return #written - #item
    end
  end
  return nil
end

local grown = write_into(batch_key)
if not grown then
  return write_into(held_key) and 'held' or 'gone'
end
redis.call('HINCRBY', info_key, 'bytes', grown)

-- The batch no longer waits for this transcript: it goes when due, or when the next
-- transcript it waits for is stored.
redis.call('ZREMRANGEBYSCORE', transcribing_key, '-inf', now)
local deadline = tonumber(redis.call('HGET', info_key, 'due')) or now
local waited_for = redis.call('ZRANGE', transcribing_key, -1, -1, 'WITHSCORES')
if waited_for[2] then
  deadline = math.max(deadline, tonumber(waited_for[2]))
end
deadline = math.max(deadline, now)
redis.call('HSET', info_key, 'deadline', deadline)
if redis.call('EXISTS', inflight_key) == 1 or job_running(job) then
  return 'written'  -- the running job's end schedules it
end
redis.call('ZADD', pending_index, deadline, conversation)
queue_job(job, deadline)
return 'written'
