-- Returns expired leases to their queues, then leases up to N due contacts,
-- highest priority first, earliest-due shard first within a priority.
-- KEYS: 1 the list hash (unused; names the list's slot), 2 P lz:<list>,
--       3 P li:<list>, 4..13 P qi:<list>:0 .. P qi:<list>:9.
-- Keys found only here: the queue shards P q:<list>:<prio>:<shard> (which
-- shards are due is read from the qi index) and the record buckets
-- P c:<list>:<seq/128> of the contacts leased, built from ARGV[1] (the
-- tenant's key prefix) so they stay in the tenant's hash slot.
-- ARGV: 1 prefix, 2 list, 3 now_ms, 4 n, 5 expire_ms, 6 holder, then N lease ids.
-- Returns {seq, bytes, lease id, ...}.
local P, list, now, n, exp, holder = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], ARGV[6]
local lz, li = KEYS[2], KEYS[3]
local function qi(prio) return KEYS[4 + tonumber(prio)] end
local touched = {}
local function shard(seq, prio)
  local s = tostring(math.floor(tonumber(seq) / 128))
  local q = P .. 'q:' .. list .. ':' .. prio .. ':' .. s
  touched[q] = {qi(prio), s}
  return q
end
for _, seq in ipairs(redis.call('ZRANGEBYSCORE', lz, '-inf', now)) do
  local info = redis.call('HGET', li, seq)
  if info then
    local prio = string.match(info, '^[^|]*|([^|]*)|')
    redis.call('ZADD', shard(seq, prio), now, seq)
    redis.call('HDEL', li, seq)
  end
  redis.call('ZREM', lz, seq)
end
fix_shards(touched)
touched = {}
local out = {}
local got = 0
for prio = 9, 0, -1 do
  local qikey = qi(prio)
  while got < n do
    local shards = redis.call('ZRANGEBYSCORE', qikey, '-inf', now, 'LIMIT', 0, 1)
    if #shards == 0 then break end
    local q = P .. 'q:' .. list .. ':' .. prio .. ':' .. shards[1]
    touched[q] = {qikey, shards[1]}
    for _, seq in ipairs(redis.call('ZRANGEBYSCORE', q, '-inf', now, 'LIMIT', 0, n - got)) do
      got = got + 1
      local id = ARGV[6 + got]
      redis.call('ZREM', q, seq)
      redis.call('ZADD', lz, exp, seq)
      redis.call('HSET', li, seq, id .. '|' .. prio .. '|' .. holder)
      local bytes = redis.call('HGET', P .. 'c:' .. list .. ':' .. math.floor(tonumber(seq) / 128), seq)
      out[#out + 1] = seq
      out[#out + 1] = bytes or ''
      out[#out + 1] = id
    end
    fix_shards(touched)
    touched = {}
  end
  if got >= n then break end
end
return out
