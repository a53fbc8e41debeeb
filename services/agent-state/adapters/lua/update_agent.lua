-- Replaces an agent's definition if its etag is unchanged, with its team and,
-- for a pool agent, the per-tenant grant indexes, and tells watchers of the
-- scopes concerned to take a fresh snapshot.
-- KEYS[1] agent hash, KEYS[2..1+a] grant sets of tenants granted,
-- KEYS[2+a..1+a+w] grant sets of tenants withdrawn, KEYS[#KEYS] outbox.
-- ARGV[1] expected etag, ARGV[2] new etag, ARGV[3] definition, ARGV[4]
-- team, ARGV[5] agent id (grant set member), ARGV[6] a, ARGV[7] w, ARGV[8]
-- change channel, ARGV[9] the change message, then the event records.
-- Returns 'OK', 'NOT_FOUND' or 'ETAG_MISMATCH'.
if redis.call('HEXISTS', KEYS[1], 'def') == 0 then return 'NOT_FOUND' end
if (redis.call('HGET', KEYS[1], 'etag') or '') ~= ARGV[1] then return 'ETAG_MISMATCH' end
redis.call('HSET', KEYS[1], 'def', ARGV[3], 'team', ARGV[4], 'etag', ARGV[2])
local a = tonumber(ARGV[6])
local w = tonumber(ARGV[7])
for i = 2, 1 + a do redis.call('SADD', KEYS[i], ARGV[5]) end
for i = 2 + a, 1 + a + w do redis.call('SREM', KEYS[i], ARGV[5]) end
for i = 10, #ARGV do outbox(ARGV[i]) end
redis.call('PUBLISH', ARGV[8], ARGV[9])
return 'OK'
