-- A dialing replica says it is alive and where it serves gRPC.
-- KEYS[1] the live replicas (sorted set: instance -> expiry, ms of Redis'
-- clock), KEYS[2] their addresses (hash: instance -> host:port).
-- ARGV[1] instance, ARGV[2] address (empty: none), ARGV[3] time to live (ms).
-- Forgets replicas whose time ran out; returns how many are alive.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for _, instance in ipairs(gone) do
  redis.call('HDEL', KEYS[2], instance)
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
if ARGV[2] ~= '' then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
else
  redis.call('HDEL', KEYS[2], ARGV[1])
end
return redis.call('ZCARD', KEYS[1])
