-- Helpers every script gets, prepended when the scripts are loaded (shared/redis_scripts.py).
-- A conversation's pending messages are a list of message JSON in the order written:
-- as compact as Redis stores small values (a sorted set of values over 64 bytes
-- costs three times the memory), and readable element by element in RedisInsight.

-- Redis's clock in ms since the epoch: the one clock every deadline is computed with,
-- so workers and bots on machines with skewed clocks still agree.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Where a stored message belongs in its batch. Telegram's JSON starts with its numeric
-- message id; WhatsApp's ids are strings ("wamid..."), so its messages go by their
-- timestamp, the field after the id, whose ISO form sorts as text (shared/models.py).
-- nil for neither: such a message keeps its arrival place.
local function order_of(json)
  local id = string.match(json, '^{"message_id":(%d+)')
  if id then
    return tonumber(id)
  end
  return string.match(json, '^{"message_id":"[^"]*","date":"([^"]+)"')
end

-- The Telegram message id of a stored message, for edits (nil for other channels).
local function message_id_of(json)
  return tonumber(string.match(json, '^{"message_id":(%d+)'))
end

local function comes_after(item, order)
  local other = order_of(item)
  return other ~= nil and type(other) == type(order) and other > order
end

-- Insert a message where it belongs: after every message written before or at the same
-- time. Messages nearly always arrive in order, so this is usually one RPUSH; a message
-- that overtook another is put before it.
local function insert_in_order(key, json)
  local order = order_of(json)
  local last = redis.call('LINDEX', key, -1)
  if order == nil or (not last) or not comes_after(last, order) then
    return redis.call('RPUSH', key, json)
  end
  for _, item in ipairs(redis.call('LRANGE', key, 0, -1)) do
    if comes_after(item, order) then
      return redis.call('LINSERT', key, 'BEFORE', item, json)
    end
  end
  return redis.call('RPUSH', key, json)
end
