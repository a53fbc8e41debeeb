-- Stores a new credential (record and listing) with its event and, when the
-- request has a request id, the sealed answer of the create (a retry gets
-- that answer, nothing written). The id was claimed before, outside this
-- script, in {dg}:credential-index (another hash slot; see the README).
-- Prepended: events::RedisOutbox::kLuaAppend (outbox()).
-- KEYS (all <tag>:... with <tag> = {t:<tenant>} or {vendor}, one hash slot):
--   1 credential:<id>   HASH proto, hash, tenant
--   2 credentials       ZSET of the scope's credential ids
--   3 request:<index>   the request record (STRING, the sealed answer, PX);
--                       <tag>:none when the request has no id (never touched)
--   4 outbox:tenancy    the scope's outbox (last key, set by EvalWithEvents)
-- ARGV: 1 credential id, 2 Credential bytes, 3 SHA-256 hex of the secret,
--   4 tenant ('' = vendor), 5 sealed answer ('' = no request id),
--   6 how long the record is kept (ms), 7... event records
-- Returns {1} created; {0} the credential exists (nothing written);
--   {2, sealed answer} the request record exists (a retry; nothing written).
if ARGV[5] ~= '' then
  local prev = redis.call('GET', KEYS[3])
  if prev then return {2, prev} end
end
if redis.call('EXISTS', KEYS[1]) == 1 then return {0} end
redis.call('HSET', KEYS[1], 'proto', ARGV[2], 'hash', ARGV[3], 'tenant', ARGV[4])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
if ARGV[5] ~= '' then redis.call('SET', KEYS[3], ARGV[5], 'PX', ARGV[6]) end
for i = 7, #ARGV do outbox(ARGV[i]) end
return {1}
