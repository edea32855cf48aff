-- Record progress on a claimed batch, only if this run still holds it (its claim token).
-- KEYS: 1 inflight
-- ARGV: 1 claim token, 2 field, 3 value
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
return 1
