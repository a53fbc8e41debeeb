-- Creates an agent's record with its definition if the id is free and the
-- scope is under its agent quota, and tells watchers of the scope to take a
-- fresh snapshot.
-- KEYS[1] agent hash, KEYS[2] the scope's agent index (zset by id),
-- KEYS[3] outbox (EvalWithEvents). ARGV[1] agent id, ARGV[2] definition,
-- ARGV[3] most agents the scope may have (-1: no limit), ARGV[4] team,
-- ARGV[5] etag, ARGV[6] change channel, ARGV[7] the change message, ARGV[8]
-- its campaigns (newline-separated), then the event records.
-- Returns 'OK', 'EXISTS' or 'QUOTA'.
if redis.call('EXISTS', KEYS[1]) == 1 then return 'EXISTS' end
local max = tonumber(ARGV[3])
if max >= 0 and redis.call('ZCARD', KEYS[2]) >= max then return 'QUOTA' end
redis.call('HSET', KEYS[1], 'def', ARGV[2], 'ver', '0', 'state', 'LOGGED_OUT', 'team', ARGV[4],
           'etag', ARGV[5], 'campaigns', ARGV[8])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
for i = 9, #ARGV do outbox(ARGV[i]) end
redis.call('PUBLISH', ARGV[6], ARGV[7])
return 'OK'
