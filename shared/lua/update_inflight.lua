-- includes: (nothing)
-- replicated: yes
-- Record progress on a claimed batch, only if this run still holds it (its claim token)
-- and it was not abandoned (superseded, or handed over to a human).
-- KEYS: 1 inflight
-- ARGV: 1 claim token, 2 field, 3 value
-- Returns 1 when recorded, 0 when the batch is no longer this run's, or why it was abandoned.
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then
  return 0
end
local abandoned = redis.call('HGET', KEYS[1], 'abandoned')
if abandoned then
  return abandoned
end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
return 1
