-- includes: lib.lua
-- replicated: yes (a Stop lost in a failover would let the answer go out after all)
-- The person pressed Stop on an answer being written (Telegram's draft button): its batch
-- is abandoned as a supersede abandons one, and its worker, hearing it on the same
-- channel, cancels the backend call. Too late once a part of the answer went out.
-- KEYS: 1 inflight
-- ARGV: 1 conversation, 2 the batch whose answer was stopped
-- Returns {'stopped'}, {'sent'} (a part had gone: nothing changes) or {'unknown'} (that
-- batch is not being answered: it was answered, abandoned, or never this bot's).
local inflight_key = KEYS[1]
local conversation = ARGV[1]
local batch_id = ARGV[2]
local fields = redis.call('HMGET', inflight_key, 'batch_id', 'abandoned')
if fields[1] ~= batch_id or fields[2] then
  return {'unknown'}
end
if not unanswered(inflight_key) then
  return {'sent'}
end
abandon(inflight_key, conversation, 'stopped')
return {'stopped'}
