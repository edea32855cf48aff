-- includes: lib.lua
-- replicated: yes
-- After a pause: the messages held during it, and the human's own, go into the history
-- (when it is kept) instead of being answered as a burst; then the list is dropped.
-- KEYS: 1 held, 2 handoff, 3 history
-- ARGV: 1 held items read (the first so many are handed on), 2 history ttl s (0: none),
--       3 turns kept, 4 bytes kept, 5.. the turns (JSON)
-- Returns 1 when handed on, 0 when a new pause began meanwhile (they wait for its end).
if redis.call('EXISTS', KEYS[2]) == 1 then
  return 0
end
redis.call('LTRIM', KEYS[1], tonumber(ARGV[1]), -1)
local ttl = tonumber(ARGV[2])
if ttl > 0 and #ARGV > 4 then
  remember_turns(KEYS[3], {unpack(ARGV, 5)}, ttl, tonumber(ARGV[3]), tonumber(ARGV[4]))
end
return 1
