-- includes: (nothing)
-- replicated: yes
-- A message the person deleted (unsent) leaves its pending batch: the message itself and
-- the further attachments it came with (ids "<mid>/2", "<mid>/3"...). Once its batch
-- has gone, the deletion is moot.
-- KEYS: 1 batch, 2 info
-- ARGV: 1 message id (Meta's mid, or a Telegram message id as digits)
-- Returns how many pending copies were removed.
local batch_key = KEYS[1]
local info_key = KEYS[2]
local message_id = ARGV[1]
local removed = 0
for _, item in ipairs(redis.call('LRANGE', batch_key, 0, -1)) do
  local found = string.match(item, '^{"message_id":"([^"]*)"')
    or string.match(item, '^{"message_id":(%d+)[,}]')
  if found == message_id or (found ~= nil and string.sub(found, 1, #message_id + 1) == message_id .. '/') then
    redis.call('LREM', batch_key, 1, item)
    redis.call('HINCRBY', info_key, 'bytes', -#item)
    removed = removed + 1
  end
end
return removed
