-- Stores a changed credential record (revocation) with its event; the
-- credential must exist.
-- Prepended: events::RedisOutbox::kLuaAppend (outbox()).
-- KEYS (all <tag>:..., one hash slot):
--   1 credential:<id>   HASH proto, hash, tenant
--   2 outbox:tenancy    the scope's outbox (last key, set by EvalWithEvents)
-- ARGV: 1 Credential bytes, 2... event records
-- Returns 1 stored, 0 no such credential (nothing written).
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'proto', ARGV[1])
for i = 2, #ARGV do outbox(ARGV[i]) end
return 1
