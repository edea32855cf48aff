-- includes: lib.lua
-- replicated: yes
-- Put a dead-lettered batch back in front of the person's pending messages, due now.
-- Each goes where it was written, so replayed messages come before newer ones.
-- KEYS: 1 dead letter, 2 dead letters index, 3 batch, 4 info, 5 pending index
-- ARGV: 1 batch id, 2 conversation, 3 key ttl s, 4 chat JSON, 5 user JSON,
--       6.. the messages' JSON
-- Returns the number of messages put back, or -1 if the dead letter is gone or not this one.
if redis.call('HGET', KEYS[1], 'conversation') ~= ARGV[2] then
  return -1
end
local now = now_ms()
local ttl = tonumber(ARGV[3])
local count = 0
for i = 6, #ARGV do
  if not redis.call('LPOS', KEYS[3], ARGV[i]) then
    insert_in_order(KEYS[3], ARGV[i])
    count = count + 1
    redis.call('HINCRBY', KEYS[4], 'bytes', #ARGV[i])
  end
end
if not redis.call('HGET', KEYS[4], 'first_at') then
  redis.call('HSET', KEYS[4], 'first_at', now, 'chat', ARGV[4], 'user', ARGV[5])
end
redis.call('HSET', KEYS[4], 'deadline', now)
redis.call('EXPIRE', KEYS[3], ttl)
if redis.call('TTL', KEYS[4]) < ttl then  -- its `seen` may be kept longer
  redis.call('EXPIRE', KEYS[4], ttl)
end
redis.call('ZADD', KEYS[5], now, ARGV[2])
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return count
