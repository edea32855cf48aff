-- includes: lib.lua
-- replicated: no (a cache: a photo lost in a failover is fetched when its batch goes)
-- Keep a photo fetched ahead, if the cache has room: the index holds each cached key
-- with its size ('<key>|<bytes>'), scored by when it expires, so the cache's size is
-- known without reading the photos.
-- KEYS: 1 cache index, 2 the photo's cache key
-- ARGV: 1 the photo's bytes, 2 ttl ms, 3 cache cap (bytes)
-- Returns 1 when kept, 0 when the cache is full.
local cache_index = KEYS[1]
local cache_key = KEYS[2]
local content = ARGV[1]
local ttl_ms = tonumber(ARGV[2])
local cap = tonumber(ARGV[3])
local now = now_ms()
redis.call('ZREMRANGEBYSCORE', cache_index, '-inf', now)
local used = 0
for _, member in ipairs(redis.call('ZRANGE', cache_index, 0, -1)) do
  used = used + tonumber(string.match(member, '|(%d+)$'))
end
if used + #content > cap then
  return 0
end
redis.call('SET', cache_key, content, 'PX', ttl_ms)
redis.call('ZADD', cache_index, now + ttl_ms, cache_key .. '|' .. #content)
return 1
