-- Renews the lease of an open upload (the heartbeat of its replica).
-- KEYS[1] recording hash, KEYS[2] open uploads (zset: id by lease).
-- ARGV[1] now (ms), ARGV[2] id. Returns 'ok' or 'closed'.
if redis.call('HGET', KEYS[1], 'upload') ~= 'open' then return 'closed' end
redis.call('HSET', KEYS[1], 'lease_ms', ARGV[1])
redis.call('ZADD', KEYS[2], tonumber(ARGV[1]), ARGV[2])
return 'ok'
