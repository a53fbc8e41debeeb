-- Drops overlay changes dated on or before a day (one page of them).
-- KEYS (all {vendor}:...): 1 registry:<id>:add, 2 registry:<id>:del,
--   3 registry:<id>:dates, 4 registry:<id>:atonce, 5 registry:<id>:seq
-- ARGV: 1 the day (YYYY-MM-DD), 2.. keys the scan found dated on or before
--   it; each is checked again here (it may have changed since).
-- Returns how many were dropped.
local n = 0
for i = 2, #ARGV do
  local d = redis.call('HGET', KEYS[3], ARGV[i])
  if d and d <= ARGV[1] then
    redis.call('SREM', KEYS[1], ARGV[i]); redis.call('SREM', KEYS[2], ARGV[i])
    redis.call('SREM', KEYS[4], ARGV[i]); redis.call('HDEL', KEYS[3], ARGV[i]); n = n + 1
  end
end
if n > 0 then redis.call('INCR', KEYS[5]) end
return n
