-- Replaces a tenant if its stored etag is the expected one (compare-and-set),
-- with the event of the change.
-- Prepended: events::RedisOutbox::kLuaAppend (outbox()).
-- KEYS (all {t:<tenant>}:..., one hash slot):
--   1 tenant            HASH proto, etag
--   2 outbox:tenancy    the tenant's outbox (last key, set by EvalWithEvents)
-- ARGV: 1 expected etag, 2 Tenant bytes, 3 new etag, 4... event records
-- Returns 1 replaced, 0 etag mismatch, -1 no such tenant (nothing written).
local cur = redis.call('HGET', KEYS[1], 'etag')
if not cur then return -1 end
if cur ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'proto', ARGV[2], 'etag', ARGV[3])
for i = 4, #ARGV do outbox(ARGV[i]) end
return 1
