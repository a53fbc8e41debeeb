-- Takes over an upload whose replica is presumed lost (its lease is older
-- than ARGV[1]) for salvage: upload 'salvaging', the lease renewed for the
-- salvager (another sweep takes over if it dies too).
-- KEYS[1] recording hash, KEYS[2] open uploads (zset: id by lease).
-- ARGV[1] lease cut-off (ms), ARGV[2] now (ms), ARGV[3] id.
-- Returns 1 (claimed) or 0.
local f = redis.call('HMGET', KEYS[1], 'upload', 'lease_ms')
if f[1] ~= 'open' and f[1] ~= 'salvaging' then
  redis.call('ZREM', KEYS[2], ARGV[3])
  return 0
end
if tonumber(f[2] or '0') >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'upload', 'salvaging', 'lease_ms', ARGV[2])
redis.call('ZADD', KEYS[2], tonumber(ARGV[2]), ARGV[3])
return 1
