-- This run is over but the batch is not (a retry is queued): drop its lease, so nobody
-- takes over a batch that is only waiting for its retry.
-- KEYS: 1 inflight, 2 leases
-- ARGV: 1 conversation, 2 claim token
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[2] then
  return 0
end
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
