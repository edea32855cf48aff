-- Finish a claimed batch (answered, or dead-lettered with a reason) and index what waits next.
-- KEYS: 1 inflight, 2 batch, 3 info, 4 pending index, 5 dead letter, 6 dead letters index,
--       7 leases, 8 history
-- ARGV: 1 conversation, 2 batch id, 3 dead-letter reason ('' when answered), 4 dead ttl s,
--       5 claim token, 6 history ttl s (0: no history), 7 turns kept, 8 bytes kept,
--       9.. the turns to remember (JSON), when answered
-- Returns 1 when released, 0 when this run no longer holds the batch.
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[5] then
  return 0
end
redis.call('ZREM', KEYS[7], ARGV[1])
redis.call('HDEL', KEYS[1], 'token')
local now = now_ms()
if ARGV[3] ~= '' then
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
if ARGV[3] == '' and history_ttl > 0 and #ARGV > 8 then
  -- Remembered here, with the release, so a retried or resumed batch counts once.
  for i = 9, #ARGV do
    redis.call('RPUSH', KEYS[8], ARGV[i])
  end
  redis.call('LTRIM', KEYS[8], -tonumber(ARGV[7]), -1)
  local kept = redis.call('LRANGE', KEYS[8], 0, -1)
  local bytes = 0
  for _, turn in ipairs(kept) do
    bytes = bytes + #turn
  end
  local bound = tonumber(ARGV[8])
  local dropped = 0
  while bytes > bound and dropped < #kept - 1 do  -- the newest turn always stays
    dropped = dropped + 1
    bytes = bytes - #kept[dropped]
  end
  if dropped > 0 then
    redis.call('LTRIM', KEYS[8], dropped, -1)
  end
  redis.call('EXPIRE', KEYS[8], history_ttl)
end
if redis.call('LLEN', KEYS[2]) > 0 then
  local deadline = tonumber(redis.call('HGET', KEYS[3], 'deadline')) or now
  redis.call('ZADD', KEYS[4], deadline, ARGV[1])
else
  redis.call('DEL', KEYS[3])
  redis.call('ZREM', KEYS[4], ARGV[1])
end
return 1
