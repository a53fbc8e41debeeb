-- Records a registry change between two index rebuilds (vendor scope).
-- KEYS (all {vendor}:...): 1 registry:<id>:add, 2 registry:<id>:del,
--   3 registry:<id>:asof, 4 registry:<id>:dates, 5 registry:<id>:atonce,
--   6 registry:<id>:seq (counts changes: a replica's resync skips an
--   overlay whose count it has loaded)
-- ARGV: 1 event record, 2 number of additions, 3 the change file's date
--   ('' for none), 4 the date the keys are recorded with, 5 '1' when the
--   additions bind at once (registration dates unknown), else '',
--   6.. additions, then removals (registry keys). Dates are YYYY-MM-DD,
--   which compare as text.
local add, del, dates, atonce = KEYS[1], KEYS[2], KEYS[4], KEYS[5]
local n, asof, dated, at_once = tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5] == '1'
-- A key keeps its newest change: an older change file applied late is ignored
-- for the keys a newer one already changed.
local function change(key, to, from, bind_at_once)
  local d = redis.call('HGET', dates, key)
  if d and d > dated then return end
  redis.call('SADD', to, key); redis.call('SREM', from, key); redis.call('HSET', dates, key, dated)
  if bind_at_once then redis.call('SADD', atonce, key) else redis.call('SREM', atonce, key) end
end
for i = 6, 5 + n do change(ARGV[i], add, del, at_once) end
for i = 6 + n, #ARGV do change(ARGV[i], del, add, false) end
if asof ~= '' then
  local cur = redis.call('GET', KEYS[3])
  if not cur or asof > cur then redis.call('SET', KEYS[3], asof) end
end
redis.call('INCR', KEYS[6])
outbox(ARGV[1])
return 1
