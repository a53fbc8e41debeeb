-- Shared by the contacts write scripts (prepended to each by
-- redis_contact_store.cc): grouped writes and the queue-shard index.
--   q:<list>:<prio>:<shard>  ZSET seq -> due ms (shard = seq / 128, so each
--                            stays small enough for Redis's compact listpack)
--   qi:<list>:<prio>         ZSET shard -> earliest due ms in that shard
local function add1(t, k, a)
  local l = t[k]
  if not l then l = {}; t[k] = l end
  l[#l + 1] = a
end
local function add2(t, k, a, b)
  local l = t[k]
  if not l then l = {}; t[k] = l end
  l[#l + 1] = a
  l[#l + 1] = b
end
-- Runs `cmd key args...` for every key of t, at most 1000 arguments a call.
local function flush(cmd, t)
  for k, l in pairs(t) do
    for i = 1, #l, 1000 do
      redis.call(cmd, k, unpack(l, i, math.min(i + 999, #l)))
    end
  end
end
-- touched: queue shard key -> {its priority's shard index key, shard id}.
-- Sets each shard's score in the index to its earliest due, or drops it.
local function fix_shards(touched)
  for qkey, v in pairs(touched) do
    local first = redis.call('ZRANGE', qkey, 0, 0, 'WITHSCORES')
    if first[2] then redis.call('ZADD', v[1], first[2], v[2]) else redis.call('ZREM', v[1], v[2]) end
  end
end
-- The shapes of the two bucketed indexes (domain/hash_buckets.h), "level:split".
-- A list hash without "xl" predates sizing: 65,536 buckets, shape 16:0. A
-- tenant without a phone-index record is new (0:0) unless it has contacts
-- already (16:0, the fixed layout before sizing).
local function ext_shape(lkey)
  local v = redis.call('HMGET', lkey, 'xl', 'xs')
  if not v[1] then return '16:0' end
  return v[1] .. ':' .. (v[2] or '0')
end
local function phone_shape(pikey, countkey)
  local v = redis.call('HMGET', pikey, 'l', 's')
  if v[1] then return v[1] .. ':' .. (v[2] or '0'), true end
  if redis.call('EXISTS', countkey) == 1 then return '16:0', false end
  return '0:0', false
end
