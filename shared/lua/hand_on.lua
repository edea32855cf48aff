-- includes: lib.lua
-- replicated: yes
-- After a pause: the messages held during it, and the human's own, go into the history
-- (when it is kept) instead of being answered as a burst; then the list is dropped.
-- KEYS: 1 held, 2 handoff, 3 history
-- ARGV: 1 held items read (the first so many are handed on), 2 history ttl s (0: none),
--       3 turns kept, 4 bytes kept, 5.. the turns (JSON)
-- Returns 1 when handed on, 0 when a new pause began meanwhile (they wait for its end).
local held_key = KEYS[1]
local handoff_key = KEYS[2]
local history_key = KEYS[3]
local held_read = tonumber(ARGV[1])
local history_ttl_s = tonumber(ARGV[2])
local turns_kept = tonumber(ARGV[3])
local bytes_kept = tonumber(ARGV[4])
local turns = argv_from(5)
if redis.call('EXISTS', handoff_key) == 1 then
  return 0
end
redis.call('LTRIM', held_key, held_read, -1)
if history_ttl_s > 0 and #turns > 0 then
  remember_turns(history_key, turns, history_ttl_s, turns_kept, bytes_kept)
end
return 1
