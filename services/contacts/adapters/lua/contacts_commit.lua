-- Applies a batch of contact writes atomically. Pass 1 checks every
-- compare-and-set (and that new external ids are still free) before pass 2
-- writes anything, so a conflict leaves Redis untouched. Writes are grouped
-- per key so a 2000-row batch costs a few hundred Redis calls, not thousands.
--
-- KEYS (every key the caller can name before the call):
--   1 the list hash P l:<list>        2 the tenant's contact count P contacts
--   3 the phone-index shape P pi      4 P lz:<list>    5 P li:<list>
--   6 P imps:<list>                   7..16 P qi:<list>:0 .. P qi:<list>:9
--   17.. the keys the writes name by index (below): record buckets of
--   existing contacts, index buckets, queue shards of existing contacts, the
--   import record, the request record
--   last: the tenant's outbox (outbox())
-- Keys found only here: a NEW contact's record bucket P c:<list>:<seq/128>
-- and queue shard P q:<list>:<prio>:<seq/128> depend on the sequence number
-- this script assigns, so they are built from ARGV[1] (the tenant's key
-- prefix "{t:<tenant>}:") and stay in the tenant's hash slot.
--
-- ARGV: 1 prefix, 2 list id, 3 max_contacts (-1 none), 4 import key index (0
--   none), 5 import rows, 6 number of event records E, 7 external-id index
--   shape and 8 phone-index shape the caller addressed buckets with
--   ("level:split"; another shape stored: error RESHARD, nothing written),
--   9 request record key index (0 none), 10 request fingerprint, 11 its
--   lifetime in seconds, then N = 19 fields per write (see
--   RedisContactStore::Commit), then the E event records ('C' records get the
--   first write's new sequence number appended; see BatchEvents::created).
-- Returns the sequence number of each write (-1: refused by the quota), then
-- the external-id shape (level, split), the list's count, the phone-index
-- shape (level, split) and its entry count, so the caller can grow the
-- indexes; or {'R', seq, bytes} when the request record says an earlier call
-- created the contact.
local P, list, maxc, impk, improws = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local nev = tonumber(ARGV[6])
local reqk = tonumber(ARGV[9])
local H = 11
local N = 19
local n = (#ARGV - H - nev) / N
local lkey, countkey, pikey, lz, li = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
if redis.call('EXISTS', lkey) == 0 then return {err = 'NO_LIST'} end
if reqk > 0 then
  local rec = redis.call('HMGET', KEYS[reqk], 'fp', 'seq', 'bytes')
  if rec[1] then
    if rec[1] ~= ARGV[10] then return {err = 'REUSED'} end
    return {'R', tonumber(rec[2]), rec[3]}
  end
end
local xshape = ext_shape(lkey)
local pshape, pexists = phone_shape(pikey, countkey)
if xshape ~= ARGV[7] or pshape ~= ARGV[8] then return {err = 'RESHARD'} end
local function f(i, k) return ARGV[H + (i - 1) * N + k] end
local function key(i, k) return KEYS[tonumber(f(i, k))] end
local newcount = 0
for i = 1, n do
  local seq = tonumber(f(i, 1))
  if seq == 0 then
    newcount = newcount + 1
    if f(i, 5) ~= '' and redis.call('HEXISTS', key(i, 14), f(i, 5)) == 1 then
      return {err = 'CONFLICT ' .. i}
    end
  else
    local cur = redis.call('HGET', key(i, 17), tostring(seq))
    if (cur or '') ~= f(i, 2) then return {err = 'CONFLICT ' .. i} end
    if f(i, 13) ~= '' then
      local lease = redis.call('HGET', li, tostring(seq))
      if not lease or string.sub(lease, 1, #f(i, 13) + 1) ~= f(i, 13) .. '|' then
        return {err = 'LEASE ' .. i}
      end
    end
  end
end
local total = tonumber(redis.call('GET', countkey) or '0')
local room = newcount
if maxc >= 0 then room = math.max(0, math.min(newcount, maxc - total)) end
local nextseq = 0
if room > 0 then nextseq = redis.call('HINCRBY', lkey, 'next_seq', room) - room end
local hset, hdel, zadd, zrem, counts, touched = {}, {}, {}, {}, {}, {}
local added, removed, phones, ptouched = 0, 0, 0, false
local out = {}
local cprefix, lref = P .. 'c:' .. list .. ':', list .. ':'
-- The queue shard of a contact: its key index when given, else built here
-- (a new contact's shard depends on the seq assigned above).
local function shard(i, k, seq, prio)
  local s = tostring(math.floor(seq / 128))
  local q
  if tonumber(f(i, k)) > 0 then q = key(i, k) else q = P .. 'q:' .. list .. ':' .. prio .. ':' .. s end
  touched[q] = {KEYS[7 + tonumber(prio)], s}
  return q
end
-- Phone entries arrive as "<key index>|<E.164>", several separated by tabs;
-- the index field is "<E.164>|<list>:<seq>".
local function each_phone(s, fn)
  for e in string.gmatch(s, '[^\t]+') do
    local k, num = string.match(e, '([^|]+)|(.+)')
    fn(KEYS[tonumber(k)], num)
  end
end
for i = 1, n do
  local o = H + (i - 1) * N
  local seq = tonumber(ARGV[o + 1])
  if seq == 0 and room == 0 then
    out[i] = -1
  else
    local bkey
    if seq == 0 then
      room = room - 1
      nextseq = nextseq + 1
      seq = nextseq
      added = added + 1
      bkey = cprefix .. math.floor(seq / 128)
    else
      bkey = KEYS[tonumber(ARGV[o + 17])]
    end
    local sseq = tostring(seq)
    local ref = lref .. sseq
    out[i] = seq
    local bytes = ARGV[o + 3]
    local live = bytes ~= ''
    if live then add2(hset, bkey, sseq, bytes) else add1(hdel, bkey, sseq); removed = removed + 1 end
    local oldx, newx = ARGV[o + 4], ARGV[o + 5]
    if oldx ~= '' and (oldx ~= newx or not live) then add1(hdel, KEYS[tonumber(ARGV[o + 15])], oldx) end
    if newx ~= '' and live then add2(hset, KEYS[tonumber(ARGV[o + 14])], newx, sseq) end
    local oldp, newp = ARGV[o + 6], live and ARGV[o + 7] or ''
    if oldp ~= newp then
      ptouched = true
      local keep = {}
      for e in string.gmatch(newp, '[^\t]+') do keep[e] = true end
      for e in string.gmatch(oldp, '[^\t]+') do
        if not keep[e] then
          local k, num = string.match(e, '([^|]+)|(.+)')
          add1(hdel, KEYS[tonumber(k)], num .. '|' .. ref)
          phones = phones - 1
        end
      end
      local had = {}
      for e in string.gmatch(oldp, '[^\t]+') do had[e] = true end
      for e in string.gmatch(newp, '[^\t]+') do
        if not had[e] then phones = phones + 1 end
      end
    end
    if newp ~= '' then
      each_phone(newp, function(k, num) add2(hset, k, num .. '|' .. ref, '1') end)
    end
    if ARGV[o + 10] == '1' then add1(zrem, shard(i, 18, seq, ARGV[o + 11]), sseq) end
    if ARGV[o + 13] ~= '' or not live then
      redis.call('ZREM', lz, sseq)
      redis.call('HDEL', li, sseq)
    end
    -- A contact leased to a dialer stays out of the queue until its lease
    -- ends (the write ending the lease carries the lease id).
    if ARGV[o + 9] ~= '' and live and (ARGV[o + 13] ~= '' or
        redis.call('HEXISTS', li, sseq) == 0) then
      add2(zadd, shard(i, 19, seq, ARGV[o + 12]), ARGV[o + 9], sseq)
    end
    local os, ns = ARGV[o + 8], ARGV[o + 16]
    if os ~= ns then
      if os ~= '' then counts[os] = (counts[os] or 0) - 1 end
      if ns ~= '' then counts[ns] = (counts[ns] or 0) + 1 end
    end
  end
end
flush('HDEL', hdel)
flush('HSET', hset)
flush('ZREM', zrem)
flush('ZADD', zadd)
fix_shards(touched)
for k, d in pairs(counts) do
  if d ~= 0 then redis.call('HINCRBY', lkey, 'n:' .. k, d) end
end
local count = tonumber(redis.call('HGET', lkey, 'count') or '0')
if added - removed ~= 0 then
  count = redis.call('HINCRBY', lkey, 'count', added - removed)
  redis.call('INCRBY', countkey, added - removed)
end
redis.call('HINCRBY', lkey, 'version', 1)  -- see InsertNew: concurrent inserts watch it
-- The phone index's record: its shape (created on the tenant's first write),
-- its entry count (what it grows by) and a version every change to its
-- buckets moves (inserts and splits watch the record).
local pn = 0
if ptouched then
  if not pexists then
    local l, s = string.match(pshape, '(%d+):(%d+)')
    local base = 0
    if pshape ~= '0:0' then base = total end  -- before sizing: estimated from the contacts
    redis.call('HSET', pikey, 'l', l, 's', s, 'n', base)
  end
  pn = redis.call('HINCRBY', pikey, 'n', phones)
  redis.call('HINCRBY', pikey, 'v', 1)
elseif pexists then
  pn = tonumber(redis.call('HGET', pikey, 'n') or '0')
end
if impk > 0 then
  redis.call('HSET', KEYS[impk], 'rows', improws)
  redis.call('SADD', KEYS[6], KEYS[impk])
end
if reqk > 0 and out[1] and out[1] > 0 then
  redis.call('HSET', KEYS[reqk], 'fp', ARGV[10], 'seq', out[1], 'bytes', f(1, 3))
  redis.call('EXPIRE', KEYS[reqk], tonumber(ARGV[11]))
end
for j = #ARGV - nev + 1, #ARGV do
  local rec = ARGV[j]
  if string.sub(rec, 1, 1) == 'C' then
    if out[1] and out[1] > 0 then outbox(rec .. tostring(out[1])) end
  else
    outbox(rec)
  end
end
local xl, xs = string.match(xshape, '(%d+):(%d+)')
local pl, ps = string.match(pshape, '(%d+):(%d+)')
out[#out + 1] = tonumber(xl)
out[#out + 1] = tonumber(xs)
out[#out + 1] = count
out[#out + 1] = tonumber(pl)
out[#out + 1] = tonumber(ps)
out[#out + 1] = pn
return out
