-- includes: (nothing)
-- replicated: yes
-- Record progress on a claimed batch, only if this run still holds it (its claim token)
-- and it was not abandoned (superseded, or handed over to a human).
-- KEYS: 1 inflight
-- ARGV: 1 claim token, 2 field, 3 value
-- Returns {'recorded', ''}, {'lost', ''} when the batch is no longer this run's, or
-- {'abandoned', why}.
local inflight_key = KEYS[1]
local claim_token = ARGV[1]
local field = ARGV[2]
local value = ARGV[3]
if redis.call('HGET', inflight_key, 'token') ~= claim_token then
  return {'lost', ''}
end
local abandoned = redis.call('HGET', inflight_key, 'abandoned')
if abandoned then
  return {'abandoned', abandoned}
end
redis.call('HSET', inflight_key, field, value)
return {'recorded', ''}
