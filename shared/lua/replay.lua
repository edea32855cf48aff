-- includes: lib.lua
-- replicated: yes
-- Put a dead-lettered batch back in front of the person's pending messages, due now.
-- Each goes where it was written, so replayed messages come before newer ones.
-- KEYS: 1 dead letter, 2 dead letters index, 3 batch, 4 info, 5 pending index
-- ARGV: 1 batch id, 2 conversation, 3 key ttl s, 4 chat JSON, 5 user JSON,
--       6.. the messages' JSON
-- Returns the number of messages put back, or -1 if the dead letter is gone or not this one.
local dead_letter_key = KEYS[1]
local dead_letters_index = KEYS[2]
local batch_key = KEYS[3]
local info_key = KEYS[4]
local pending_index = KEYS[5]
local batch_id = ARGV[1]
local conversation = ARGV[2]
local key_ttl_s = tonumber(ARGV[3])
local chat = ARGV[4]
local user = ARGV[5]
local messages = argv_from(6)
if redis.call('HGET', dead_letter_key, 'conversation') ~= conversation then
  return -1
end
local now = now_ms()
local count = 0
for _, message in ipairs(messages) do
  if not redis.call('LPOS', batch_key, message) then
    insert_in_order(batch_key, message)
    count = count + 1
    redis.call('HINCRBY', info_key, 'bytes', #message)
  end
end
if not redis.call('HGET', info_key, 'first_at') then
  redis.call('HSET', info_key, 'first_at', now, 'chat', chat, 'user', user)
end
redis.call('HSET', info_key, 'deadline', now)
redis.call('EXPIRE', batch_key, key_ttl_s)
if redis.call('TTL', info_key) < key_ttl_s then  -- its `seen` may be kept longer
  redis.call('EXPIRE', info_key, key_ttl_s)
end
redis.call('ZADD', pending_index, now, conversation)
redis.call('DEL', dead_letter_key)
redis.call('ZREM', dead_letters_index, batch_id)
return count
