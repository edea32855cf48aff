-- Queue messages the backend sends on its own, delivered by the conversation's job so
-- they never interleave with a reply being sent; due now unless a batch is in flight
-- (then they follow its reply).
-- KEYS: 1 outbox, 2 inflight, 3 pending index, 4 arq queue, 5 arq job, 6 arq in-progress
-- ARGV: 1 conversation, 2 job id, 3 job payload, 4 key ttl s, 5.. message JSON
-- Returns {scheduling, messages waiting}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[4])
for i = 5, #ARGV do
  redis.call('RPUSH', KEYS[1], ARGV[i])
end
redis.call('EXPIRE', KEYS[1], ttl)
local waiting = redis.call('LLEN', KEYS[1])
if redis.call('EXISTS', KEYS[2]) == 1 then
  return {'behind-batch', waiting}
end
redis.call('ZADD', KEYS[3], now, ARGV[1])
if redis.call('EXISTS', KEYS[6]) == 1 then
  return {'behind-running', waiting}
end
if redis.call('ZSCORE', KEYS[4], ARGV[2]) then
  redis.call('ZADD', KEYS[4], 'XX', now, ARGV[2])
  redis.call('SET', KEYS[5], ARGV[3], 'EX', ttl, 'NX')
  return {'moved', waiting}
end
redis.call('SET', KEYS[5], ARGV[3], 'EX', ttl)
redis.call('ZADD', KEYS[4], now, ARGV[2])
return {'created', waiting}
