-- Helpers a script gets when its header says `-- includes: lib.lua` (shared/redis_scripts.py).
-- A conversation's pending messages are a list of message JSON in the order written:
-- as compact as Redis stores small values (a sorted set of values over 64 bytes
-- costs three times the memory), and readable element by element in RedisInsight.

-- Redis's clock in ms since the epoch: the one clock every deadline is computed with,
-- so workers and bots on machines with skewed clocks still agree.
-- The arguments from ARGV[first] on, as a list: a script's variable-length last argument.
local function argv_from(first)
  local out = {}
  for i = first, #ARGV do
    out[#out + 1] = ARGV[i]
  end
  return out
end

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

-- Whether a stored message is the one with this id (Telegram's numbers, WhatsApp's and
-- Meta's strings), read from the JSON's leading field without a pattern.
local function is_message(json, message_id)
  local number = '{"message_id":' .. message_id .. ','
  local text = '{"message_id":"' .. message_id .. '",'
  return string.sub(json, 1, #number) == number or string.sub(json, 1, #text) == text
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

-- Per-minute counts for the operations console's charts: `stats:2026-11-23T0305Z` is a
-- hash (messages_in, answered, dead_letters, retries, refused) of that UTC minute, kept
-- two hours. Written inside the scripts that do the counted step, so counting costs no
-- round trip. (Its key is derived from the clock, not passed in KEYS: batchbot runs on
-- one Redis primary, never a Cluster.)
local STATS_TTL_SECONDS = 7200

local function utc_minute_of(ms)
  -- Days since the epoch to a civil date (proleptic Gregorian), integer arithmetic only.
  local seconds = math.floor(ms / 1000)
  local days = math.floor(seconds / 86400)
  local in_day = seconds - days * 86400
  local z = days + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524)
    - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local day = doy - math.floor((153 * mp + 2) / 5) + 1
  local month = mp < 10 and mp + 3 or mp - 9
  local year = yoe + era * 400 + (month <= 2 and 1 or 0)
  return string.format('%04d-%02d-%02dT%02d%02dZ', year, month, day,
    math.floor(in_day / 3600), math.floor((in_day % 3600) / 60))
end

local function count_in_stats(now, field)
  local key = 'stats:' .. utc_minute_of(now)
  redis.call('HINCRBY', key, field, 1)
  redis.call('EXPIRE', key, STATS_TTL_SECONDS)
end

-- The messages of a claimed batch, one JSON each. claim.lua joins them with ",\n": JSON
-- as batchbot writes it is compact and escapes every newline inside a string, so a
-- newline can only be that separator. nil for a batch claimed by an older version,
-- joined with "," alone (a quote is escaped inside a string, so '},{"' is a boundary).
local function claimed_messages(joined)
  if string.find(joined, '},{"', 1, true) then
    return nil
  end
  local items = {}
  for item in string.gmatch(string.sub(joined, 2, -2) .. ',\n', '(.-),\n') do
    table.insert(items, item)
  end
  return items
end

-- May the claimed batch still be abandoned? Only while no part of its answer has gone
-- out or is going out (begin_part.lua marks a part before it is sent).
local function unanswered(inflight_key)
  local f = redis.call('HMGET', inflight_key, 'sent', 'sending', 'abandoned')
  return f[1] == '0' and not f[2] and not f[3]
end

-- Abandon a claimed batch that nothing was sent of: its answer, should one still come,
-- is never sent. Its run hears at once through the channel below ("<conversation> <why>";
-- should it miss that, at its next write or lease renewal), stops its backend call and
-- releases it.
local ABANDONED_CHANNEL = 'batches-abandoned'
local function abandon(inflight_key, conversation, why)
  redis.call('HSET', inflight_key, 'abandoned', why)
  redis.call('PUBLISH', ABANDONED_CHANNEL, conversation .. ' ' .. why)
end

-- Append turns to a conversation's history, keeping the last `kept` within `bound` bytes
-- (the newest turn always stays), and forget it `ttl` seconds after the last write.
local function remember_turns(key, turns, ttl, kept, bound)
  for _, turn in ipairs(turns) do
    redis.call('RPUSH', key, turn)
  end
  redis.call('LTRIM', key, -kept, -1)
  local all = redis.call('LRANGE', key, 0, -1)
  local bytes = 0
  for _, turn in ipairs(all) do
    bytes = bytes + #turn
  end
  local dropped = 0
  while bytes > bound and dropped < #all - 1 do
    dropped = dropped + 1
    bytes = bytes - #all[dropped]
  end
  if dropped > 0 then
    redis.call('LTRIM', key, dropped, -1)
  end
  redis.call('EXPIRE', key, ttl)
end

-- A conversation's recent message ids are one field of its batch-info hash, `seen`,
-- space separated, oldest first: one key fewer per conversation than a set of its own
-- (about 200 bytes of Redis each), and a field that outlives the batch's own fields.
local function seen_token(message_id)
  return (string.gsub(message_id, '%s', '_'))
end

local function was_seen(seen, token)
  return seen ~= '' and string.find(' ' .. seen .. ' ', ' ' .. token .. ' ', 1, true) ~= nil
end

local function remember_seen(info_key, seen, token, keep)
  seen = seen == '' and token or seen .. ' ' .. token
  local _, spaces = string.gsub(seen, ' ', ' ')
  local cut = 0
  for _ = 1, spaces + 1 - keep do
    cut = string.find(seen, ' ', cut + 1, true)
  end
  redis.call('HSET', info_key, 'seen', string.sub(seen, cut + 1))
end

-- The pending batch's own fields go with its last message; `seen` stays, and a hash
-- left with no field is gone.
local function forget_pending(info_key)
  redis.call('HDEL', info_key, 'bytes', 'first_at', 'deadline', 'due', 'album_until', 'chat', 'user')
end

-- A private chat is stored as '' (the person's own chat, as Chat(id=user.id,
-- type='private') would write it): the chat is rebuilt from the user's JSON at the claim.
local function chat_or_private(chat, user)
  if chat and chat ~= '' then
    return chat
  end
  return '{"id":' .. string.match(user, '^{"id":([^,}]+)') .. ',"type":"private"}'
end
