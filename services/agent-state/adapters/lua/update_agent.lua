-- Replaces an agent's definition if its etag is unchanged, with its team and,
-- for a pool agent, the per-tenant grant indexes, and tells watchers of the
-- scopes concerned to take a fresh snapshot.
-- KEYS[1] agent hash, KEYS[2..1+a] grant sets of tenants granted,
-- KEYS[2+a..1+a+w] grant sets of tenants withdrawn, KEYS[#KEYS] outbox.
-- ARGV[1] expected etag, ARGV[2] new etag, ARGV[3] definition, ARGV[4]
-- team, ARGV[5] agent id (grant set member), ARGV[6] a, ARGV[7] w, ARGV[8]
-- change channel, ARGV[9] the change message, ARGV[10] its campaigns
-- (newline-separated), ARGV[11] the scope's key prefix, then the event
-- records. A READY agent moves from its old campaigns' ready indexes to the
-- new ones (same slot).
-- Returns 'OK', 'NOT_FOUND' or 'ETAG_MISMATCH'.
if redis.call('HEXISTS', KEYS[1], 'def') == 0 then return 'NOT_FOUND' end
if (redis.call('HGET', KEYS[1], 'etag') or '') ~= ARGV[1] then return 'ETAG_MISMATCH' end
local old = redis.call('HGET', KEYS[1], 'campaigns') or ''
local ready = redis.call('HGET', KEYS[1], 'state') == 'READY'
local since = redis.call('HGET', KEYS[1], 'since')
for c in string.gmatch(old, '[^\n]+') do
  redis.call('ZREM', ARGV[11] .. ':ready-c:' .. c, ARGV[5])
end
redis.call('HSET', KEYS[1], 'def', ARGV[3], 'team', ARGV[4], 'etag', ARGV[2], 'campaigns', ARGV[10])
if ready and since then
  for c in string.gmatch(ARGV[10], '[^\n]+') do
    redis.call('ZADD', ARGV[11] .. ':ready-c:' .. c, since, ARGV[5])
  end
end
local a = tonumber(ARGV[6])
local w = tonumber(ARGV[7])
for i = 2, 1 + a do redis.call('SADD', KEYS[i], ARGV[5]) end
for i = 2 + a, 1 + a + w do redis.call('SREM', KEYS[i], ARGV[5]) end
for i = 12, #ARGV do outbox(ARGV[i]) end
redis.call('PUBLISH', ARGV[8], ARGV[9])
return 'OK'
