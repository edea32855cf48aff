-- includes: (nothing)
-- replicated: yes
-- Asked right before a part of an answer is sent: may it go? The mark it leaves is what
-- take_over.lua and a superseding append read as "a part went", so a human or a new
-- message either comes before it (the part is not sent) or after (the part counts).
-- KEYS: 1 inflight
-- ARGV: 1 claim token, 2 the part's number
-- Returns 'go', 'lost' (another run holds the batch) or why nothing more may go out.
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then
  return 'lost'
end
local stop = redis.call('HGET', KEYS[1], 'abandoned') or redis.call('HGET', KEYS[1], 'halted')
if stop then
  return stop
end
redis.call('HSET', KEYS[1], 'sending', ARGV[2])
return 'go'
