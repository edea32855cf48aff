-- /clear: drop a conversation's pending messages and, if nothing is running, its job.
-- A batch already claimed (at the backend or being sent) is not recalled; its job's end
-- finds nothing pending and tidies the index.
-- KEYS: 1 batch, 2 info, 3 inflight, 4 pending index, 5 arq queue, 6 arq job,
--       7 arq in-progress
-- ARGV: 1 conversation, 2 job id
-- Returns {messages dropped, 1 if a claimed batch is still running else 0}
local dropped = redis.call('LLEN', KEYS[1])
redis.call('DEL', KEYS[1], KEYS[2])
local running = redis.call('EXISTS', KEYS[3]) == 1 or redis.call('EXISTS', KEYS[7]) == 1
if not running then
  redis.call('ZREM', KEYS[4], ARGV[1])
  redis.call('ZREM', KEYS[5], ARGV[2])
  redis.call('DEL', KEYS[6])
end
return {dropped, running and 1 or 0}
