-- includes: lib.lua
-- replicated: yes
-- An edited message replaces its pending copy; once its batch has gone, the edit is moot.
-- KEYS: 1 batch, 2 info
-- ARGV: 1 message id, 2 message JSON (the edited version)
-- Returns 1 when a pending copy was replaced, 0 when there was none.
local id = tonumber(ARGV[1])
for index, item in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  if message_id_of(item) == id then
    redis.call('LSET', KEYS[1], index - 1, ARGV[2])
    redis.call('HINCRBY', KEYS[2], 'bytes', #ARGV[2] - #item)
    return 1
  end
end
return 0
