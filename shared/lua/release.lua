-- includes: lib.lua
-- replicated: yes
-- Finish a claimed batch (answered, or dead-lettered with a reason) and index what waits next.
-- KEYS: 1 inflight, 2 batch, 3 info, 4 pending index, 5 dead letter, 6 dead letters index,
--       7 leases, 8 history, 9 outbox, 10 answers (the answered batches, for the cap)
-- ARGV: 1 conversation, 2 batch id, 3 dead-letter reason ('' when answered), 4 dead ttl s,
--       5 claim token, 6 history ttl s (0: no history), 7 turns kept, 8 bytes kept,
--       9 answers' window ms, 10.. the turns to remember (JSON): what was delivered, also
--       of a batch kept as a dead letter because the platform refused a part of its answer
-- An abandoned batch (superseded, or handed over to a human) is neither counted as
-- answered nor remembered: its messages went back to the pending list or to the human.
-- One the person stopped is remembered as far as it was delivered (the turns sent).
-- Returns {'released', why it was abandoned ('' if not), 1 if proactive messages wait in
-- the outbox else 0}, or {'lost', '', 0} when this run no longer holds the batch.
local inflight_key = KEYS[1]
local batch_key = KEYS[2]
local info_key = KEYS[3]
local pending_index = KEYS[4]
local dead_letter_key = KEYS[5]
local dead_letters_index = KEYS[6]
local leases = KEYS[7]
local history_key = KEYS[8]
local outbox_key = KEYS[9]
local answers_key = KEYS[10]
local conversation = ARGV[1]
local batch_id = ARGV[2]
local dead_reason = ARGV[3]
local dead_ttl_s = tonumber(ARGV[4])
local claim_token = ARGV[5]
local history_ttl_s = tonumber(ARGV[6])
local turns_kept = tonumber(ARGV[7])
local bytes_kept = tonumber(ARGV[8])
local answers_window_ms = tonumber(ARGV[9])
local turns = argv_from(10)
if redis.call('HGET', inflight_key, 'token') ~= claim_token then
  return {'lost', '', 0}
end
redis.call('ZREM', leases, conversation)
redis.call('HDEL', inflight_key, 'token')
local now = now_ms()
local abandoned = redis.call('HGET', inflight_key, 'abandoned')
if abandoned then
  -- nothing to count or remember here: the job that noticed counts it
elseif dead_reason ~= '' then
  local fields = redis.call('HGETALL', inflight_key)
  redis.call('HSET', dead_letter_key, unpack(fields))
  redis.call('HSET', dead_letter_key, 'reason', dead_reason, 'failed_at', now)
  redis.call('EXPIRE', dead_letter_key, dead_ttl_s)
  redis.call('ZADD', dead_letters_index, now, batch_id)
  count_in_stats(now, 'dead_letters')
else
  count_in_stats(now, 'answered')
  redis.call('ZADD', answers_key, 'NX', now, batch_id)
  redis.call('PEXPIRE', answers_key, answers_window_ms)
end
redis.call('DEL', inflight_key)
if (not abandoned or abandoned == 'stopped') and history_ttl_s > 0 and #turns > 0 then
  -- Remembered here, with the release, so a retried or resumed batch counts once.
  remember_turns(history_key, turns, history_ttl_s, turns_kept, bytes_kept)
end
if redis.call('LLEN', batch_key) > 0 then
  local deadline = tonumber(redis.call('HGET', info_key, 'deadline')) or now
  redis.call('ZADD', pending_index, deadline, conversation)
else
  forget_pending(info_key)
  redis.call('ZREM', pending_index, conversation)
end
return {'released', abandoned or '', redis.call('EXISTS', outbox_key)}
