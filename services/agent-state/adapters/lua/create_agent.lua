-- Creates an agent's record with its definition if the id is free.
-- KEYS[1] agent hash, KEYS[2] the scope's agent index (zset by id),
-- KEYS[3] outbox (EvalWithEvents). ARGV[1] agent id, ARGV[2] definition,
-- then the event records. Returns 'OK' or 'EXISTS'.
if redis.call('EXISTS', KEYS[1]) == 1 then return 'EXISTS' end
redis.call('HSET', KEYS[1], 'def', ARGV[2], 'ver', '0', 'state', 'LOGGED_OUT')
redis.call('ZADD', KEYS[2], 0, ARGV[1])
for i = 3, #ARGV do outbox(ARGV[i]) end
return 'OK'
