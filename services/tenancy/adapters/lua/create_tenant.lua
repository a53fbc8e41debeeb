-- Creates a tenant with its event and, when the request has a request id,
-- the sealed answer of the create (a retry gets that answer, nothing written).
-- Prepended: events::RedisOutbox::kLuaAppend (outbox()).
-- KEYS (all {t:<tenant>}:..., one hash slot):
--   1 tenant            HASH proto, etag
--   2 request:<index>   the request record (STRING, the sealed answer, PX);
--                       {t:<tenant>}:none when the request has no id (never touched)
--   3 outbox:tenancy    the tenant's outbox (last key, set by EvalWithEvents)
-- ARGV: 1 Tenant bytes, 2 etag, 3 sealed answer ('' = no request id),
--   4 how long the record is kept (ms), 5... event records
-- Returns {1} created; {0} the tenant exists (nothing written);
--   {2, sealed answer} the request record exists (a retry; nothing written).
if ARGV[3] ~= '' then
  local prev = redis.call('GET', KEYS[2])
  if prev then return {2, prev} end
end
if redis.call('EXISTS', KEYS[1]) == 1 then return {0} end
redis.call('HSET', KEYS[1], 'proto', ARGV[1], 'etag', ARGV[2])
if ARGV[3] ~= '' then redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4]) end
for i = 5, #ARGV do outbox(ARGV[i]) end
return {1}
