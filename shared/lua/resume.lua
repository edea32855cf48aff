-- includes: lib.lua arq_jobs.lua
-- replicated: yes
-- The human hands the conversation back before the pause ends: the job runs now, to
-- hand on what was held during the pause (it is history, not a new burst) and send the
-- proactive messages that waited for the human.
-- KEYS: 1 inflight, 2 pending index, 3 handoff, 4 held, 5 handoffs index, 6 outbox,
--       7-9 the job
-- ARGV: 1-4 the job layout (conversation, job id, job payload, key ttl s)
-- Returns 1 when the conversation was paused, else 0.
local inflight_key = KEYS[1]
local pending_index = KEYS[2]
local handoff_key = KEYS[3]
local held_key = KEYS[4]
local handoffs_index = KEYS[5]
local outbox_key = KEYS[6]
local job = conversation_job()
local conversation = job.conversation
local was_paused = redis.call('DEL', handoff_key)
redis.call('ZREM', handoffs_index, conversation)
if redis.call('EXISTS', held_key, outbox_key) > 0 and redis.call('EXISTS', inflight_key) == 0
    and not job_running(job) then
  local now = now_ms()
  redis.call('ZADD', pending_index, now, conversation)
  queue_job(job, now)
end
return was_paused
