-- Shared by the compliance write scripts (prepended by the C++ adapter, after
-- the outbox's own helper): how records are framed, how an audit set is kept,
-- and how a change is made idempotent by its request id.

-- A framed record: a kind byte ('D' decision, 'T' call, 'E' event), a
-- 10-digit length and the bytes (events::FrameRecord in C++).
local function frame(kind, bytes) return kind .. string.format('%010d', #bytes) .. bytes end

-- Adds `rec` at `ms` to an audit set and trims it to `retention` ms.
local function audit(key, ms, rec, retention)
  redis.call('ZADD', key, ms, rec)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. (ms - retention))
  redis.call('PEXPIRE', key, retention)
end

-- Request ids of changes. `key` is {t:<tenant>}:mreq:<request id>, holding
-- the SHA-1 of the first request (40 hex digits) and its reply, for 24 h;
-- `fp` is that SHA-1 for this request, '' when it has no request id.
-- previous(key, fp): nil when the id is new (or absent); false when the id
-- came with a different request; else the first request's reply.
local function previous(key, fp)
  if fp == '' then return nil end
  local prev = redis.call('GET', key)
  if not prev then return nil end
  if string.sub(prev, 1, 40) ~= fp then return false end
  return string.sub(prev, 41)
end
local function remember(key, fp, reply)
  if fp ~= '' then redis.call('SET', key, fp .. reply, 'PX', 86400000) end
end

-- The listing index of a hash (a sorted set of its fields, all scored 0, so
-- they page in a stable order with ZRANGE BYLEX). A hash written before the
-- index existed is indexed on its first change or listing.
local function ensure_index(index, hash)
  if redis.call('EXISTS', index) == 1 then return end
  local fields = redis.call('HKEYS', hash)
  for i = 1, #fields, 1000 do
    local args = {}
    for j = i, math.min(i + 999, #fields) do
      args[#args + 1] = 0
      args[#args + 1] = fields[j]
    end
    redis.call('ZADD', index, unpack(args))
  end
end
