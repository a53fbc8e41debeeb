-- Creates an agent's record with its definition if the id is free and the
-- scope is under its agent quota.
-- KEYS[1] agent hash, KEYS[2] the scope's agent index (zset by id),
-- KEYS[3] outbox (EvalWithEvents). ARGV[1] agent id, ARGV[2] definition,
-- ARGV[3] most agents the scope may have (-1: no limit), then the event
-- records. Returns 'OK', 'EXISTS' or 'QUOTA'.
if redis.call('EXISTS', KEYS[1]) == 1 then return 'EXISTS' end
local max = tonumber(ARGV[3])
if max >= 0 and redis.call('ZCARD', KEYS[2]) >= max then return 'QUOTA' end
redis.call('HSET', KEYS[1], 'def', ARGV[2], 'ver', '0', 'state', 'LOGGED_OUT')
redis.call('ZADD', KEYS[2], 0, ARGV[1])
for i = 4, #ARGV do outbox(ARGV[i]) end
return 'OK'
