-- includes: lib.lua arq_jobs.lua
-- replicated: yes
-- /clear: drop a conversation's pending messages, its history and, if nothing is running,
-- its job.
-- A batch already claimed (at the backend or being sent) is not recalled; its job's end
-- finds nothing pending and tidies the index.
-- KEYS: 1 batch, 2 info, 3 inflight, 4 pending index, 5 history, 6-8 the job (arq_jobs.lua)
-- ARGV: 1-4 the job layout (conversation, job id, job payload, key ttl s)
-- Returns {messages dropped, 1 if a claimed batch is still running else 0}
local job = conversation_job()
local dropped = redis.call('LLEN', KEYS[1])
redis.call('DEL', KEYS[1], KEYS[5])
forget_pending(KEYS[2])
local running = redis.call('EXISTS', KEYS[3]) == 1 or job_running(job)
if not running then
  redis.call('ZREM', KEYS[4], ARGV[1])
  drop_job(job)
end
return {dropped, running and 1 or 0}
