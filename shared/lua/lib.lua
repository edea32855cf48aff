-- Helpers every script gets, prepended when the scripts are loaded (shared/redis_scripts.py).
-- A conversation's pending messages are a list of message JSON in message-id order:
-- as compact as Redis stores small values (a sorted set of values over 64 bytes
-- costs three times the memory), and readable element by element in RedisInsight.

-- Redis's clock in ms since the epoch: the one clock every deadline is computed with,
-- so workers and bots on machines with skewed clocks still agree.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The id of a stored message: its JSON always starts with it (shared/models.py).
local function message_id_of(json)
  return tonumber(string.match(json, '^{"message_id":(%d+)'))
end

-- Insert a message where its id belongs. Messages nearly always arrive in order, so
-- this is usually one RPUSH; a message that overtook another is put before it.
local function insert_in_order(key, id, json)
  local last = redis.call('LINDEX', key, -1)
  if (not last) or message_id_of(last) < id then
    return redis.call('RPUSH', key, json)
  end
  for _, item in ipairs(redis.call('LRANGE', key, 0, -1)) do
    if message_id_of(item) > id then
      return redis.call('LINSERT', key, 'BEFORE', item, json)
    end
  end
  return redis.call('RPUSH', key, json)
end

