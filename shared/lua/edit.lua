-- includes: lib.lua
-- replicated: yes
-- An edited message replaces its pending copy; once its batch has gone, the edit is moot.
-- KEYS: 1 batch, 2 info
-- ARGV: 1 message id, 2 message JSON (the edited version)
-- Returns 1 when a pending copy was replaced, 0 when there was none.
local batch_key = KEYS[1]
local info_key = KEYS[2]
local message_id = tonumber(ARGV[1])
local message = ARGV[2]
for index, item in ipairs(redis.call('LRANGE', batch_key, 0, -1)) do
  if message_id_of(item) == message_id then
    redis.call('LSET', batch_key, index - 1, message)
    redis.call('HINCRBY', info_key, 'bytes', #message - #item)
    return 1
  end
end
return 0
