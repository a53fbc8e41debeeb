-- Records a consent (or its revocation) with its event and, when the
-- request has an id, its reply (a retry answers the same and changes nothing).
-- KEYS (all {t:<tenant>}:...): 1 cons (compact form for check_dial.lua),
--   2 consp (Consent records), 3 consx (listing index), 4 mreq:<request id>
--   (none without one), 5 outbox:compliance
-- ARGV: 1 number (E.164), 2 compact "grant|expire|revoke" ms, 3 Consent
--   bytes, 4 event record, 5 what identifies the request (method and request
--   bytes; '' without request id)
-- Returns {1, Consent bytes stored} or, for a retry, {0, the first reply};
-- error REQUEST_ID_REUSED when the id came with a different request.
local fp = ARGV[5] ~= '' and redis.sha1hex(ARGV[5]) or ''
local prev = previous(KEYS[4], fp)
if prev == false then return {err = 'REQUEST_ID_REUSED'} end
if prev then return {0, prev} end
ensure_index(KEYS[3], KEYS[2])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[3], 0, ARGV[1])
outbox(ARGV[4])
remember(KEYS[4], fp, ARGV[3])
return {1, ARGV[3]}
