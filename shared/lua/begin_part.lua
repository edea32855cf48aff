-- includes: (nothing)
-- replicated: yes
-- Asked right before a part of an answer is sent: may it go? The mark it leaves is what
-- take_over.lua and a superseding append read as "a part went", so a human or a new
-- message either comes before it (the part is not sent) or after (the part counts).
-- KEYS: 1 inflight
-- ARGV: 1 claim token, 2 the part's number
-- Returns 'go', 'lost' (another run holds the batch) or why nothing more may go out.
local inflight_key = KEYS[1]
local claim_token = ARGV[1]
local part = ARGV[2]
if redis.call('HGET', inflight_key, 'token') ~= claim_token then
  return 'lost'
end
local stop = redis.call('HGET', inflight_key, 'abandoned') or redis.call('HGET', inflight_key, 'halted')
if stop then
  return stop
end
redis.call('HSET', inflight_key, 'sending', part)
return 'go'
