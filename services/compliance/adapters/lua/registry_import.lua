-- Takes over one page of a registry overlay stored under the keys used before
-- they carried the {vendor} hash tag (dg:registry:<id>:...). The old keys
-- are read by the adapter (another slot); this script merges what it read.
-- KEYS (all {vendor}:...): 1 registry:<id>:add, 2 registry:<id>:del,
--   3 registry:<id>:asof, 4 registry:<id>:dates
-- ARGV: 1 the old as-of date ('' for none), 2.. triples of (key, add|del,
--   date or '').
-- A key already changed under the new keys with a date at least as new is
-- kept; a key without a date applies unless the new keys hold it.
local asof = ARGV[1]
for i = 2, #ARGV, 3 do
  local key, op, date = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local d = redis.call('HGET', KEYS[4], key)
  local known = d or redis.call('SISMEMBER', KEYS[1], key) == 1 or redis.call('SISMEMBER', KEYS[2], key) == 1
  if not known or (date ~= '' and d and date > d) then
    local to, from = KEYS[1], KEYS[2]
    if op == 'del' then to, from = KEYS[2], KEYS[1] end
    redis.call('SADD', to, key); redis.call('SREM', from, key)
    if date ~= '' then redis.call('HSET', KEYS[4], key, date) end
  end
end
if asof ~= '' then
  local cur = redis.call('GET', KEYS[3])
  if not cur or asof > cur then redis.call('SET', KEYS[3], asof) end
end
return 1
