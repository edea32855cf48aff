-- includes: lib.lua
-- replicated: yes
-- Finish a claimed batch (answered, or dead-lettered with a reason) and index what waits next.
-- KEYS: 1 inflight, 2 batch, 3 info, 4 pending index, 5 dead letter, 6 dead letters index,
--       7 leases, 8 history, 9 outbox
-- ARGV: 1 conversation, 2 batch id, 3 dead-letter reason ('' when answered), 4 dead ttl s,
--       5 claim token, 6 history ttl s (0: no history), 7 turns kept, 8 bytes kept,
--       9.. the turns to remember (JSON): what was delivered, also of a batch kept as a
--       dead letter because the platform refused a part of its answer
-- An abandoned batch (superseded, or handed over to a human) is neither counted as
-- answered nor remembered: its messages went back to the pending list or to the human.
-- Returns 1 when released, 2 when released and proactive messages wait in the outbox, 0
-- when this run no longer holds the batch, or (released) why it was abandoned.
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[5] then
  return 0
end
redis.call('ZREM', KEYS[7], ARGV[1])
redis.call('HDEL', KEYS[1], 'token')
local now = now_ms()
local abandoned = redis.call('HGET', KEYS[1], 'abandoned')
if abandoned then
  -- nothing to count or remember here: the job that noticed counts it
elseif ARGV[3] ~= '' then
  local fields = redis.call('HGETALL', KEYS[1])
  redis.call('HSET', KEYS[5], unpack(fields))
  redis.call('HSET', KEYS[5], 'reason', ARGV[3], 'failed_at', now)
  redis.call('EXPIRE', KEYS[5], tonumber(ARGV[4]))
  redis.call('ZADD', KEYS[6], now, ARGV[2])
  count_in_stats(now, 'dead_letters')
else
  count_in_stats(now, 'answered')
end
redis.call('DEL', KEYS[1])
local history_ttl = tonumber(ARGV[6])
if not abandoned and history_ttl > 0 and #ARGV > 8 then
  -- Remembered here, with the release, so a retried or resumed batch counts once.
  remember_turns(KEYS[8], {unpack(ARGV, 9)}, history_ttl, tonumber(ARGV[7]), tonumber(ARGV[8]))
end
if redis.call('LLEN', KEYS[2]) > 0 then
  local deadline = tonumber(redis.call('HGET', KEYS[3], 'deadline')) or now
  redis.call('ZADD', KEYS[4], deadline, ARGV[1])
else
  forget_pending(KEYS[3])
  redis.call('ZREM', KEYS[4], ARGV[1])
end
return abandoned or (redis.call('EXISTS', KEYS[9]) == 1 and 2 or 1)
