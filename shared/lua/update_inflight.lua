-- Record progress on a claimed batch, only if it is still the batch this worker holds.
-- KEYS: 1 inflight
-- ARGV: 1 batch id, 2 field, 3 value
if redis.call('HGET', KEYS[1], 'batch_id') ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
return 1
