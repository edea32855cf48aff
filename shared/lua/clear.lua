-- includes: lib.lua arq_jobs.lua
-- replicated: yes
-- /clear: drop a conversation's pending messages, its history and, if nothing is running,
-- its job.
-- A batch already claimed (at the backend or being sent) is not recalled; its job's end
-- finds nothing pending and tidies the index.
-- KEYS: 1 batch, 2 info, 3 inflight, 4 pending index, 5 history, 6-8 the job (arq_jobs.lua)
-- ARGV: 1-4 the job layout (conversation, job id, job payload, key ttl s)
-- Returns {messages dropped, 1 if a claimed batch is still running else 0}
local batch_key = KEYS[1]
local info_key = KEYS[2]
local inflight_key = KEYS[3]
local pending_index = KEYS[4]
local history_key = KEYS[5]
local job = conversation_job()
local dropped = redis.call('LLEN', batch_key)
redis.call('DEL', batch_key, history_key)
forget_pending(info_key)
local running = redis.call('EXISTS', inflight_key) == 1 or job_running(job)
if not running then
  redis.call('ZREM', pending_index, job.conversation)
  drop_job(job)
end
return {dropped, running and 1 or 0}
