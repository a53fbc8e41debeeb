-- Records a solicitation refusal (Japan, Art. 17) of a number, or of a
-- person (a contact: every number dialed for it), and a product with its
-- event and, when the request has an id, its reply. A record of the same
-- number (or contact) and product refused as early or earlier is kept:
-- nothing changes and no event is written.
-- KEYS (all {t:<tenant>}:...): 1 refp ("<e164>|<product>" or
--   "c:<contact>|<product>" -> refusal ms, for check_dial.lua), 2 refr (same
--   field -> SolicitationRefusal), 3 refx (listing index), 4 refa (E.164 or
--   "c:<contact>" -> earliest refusal ms of any product),
--   5 mreq:<request id> (none without one), 6 outbox:compliance
-- ARGV: 1 field "<e164>|<product>" or "c:<contact>|<product>", 2 number
--   (E.164) or "c:<contact>" (the refa field), 3 refusal ms,
--   4 SolicitationRefusal bytes, 5 event record, 6 what identifies the
--   request ('' without request id)
-- Returns {1, bytes stored} or {0, the record kept / the first reply};
-- error REQUEST_ID_REUSED when the id came with a different request.
local fp = ARGV[6] ~= '' and redis.sha1hex(ARGV[6]) or ''
local prev = previous(KEYS[5], fp)
if prev == false then return {err = 'REQUEST_ID_REUSED'} end
if prev then return {0, prev} end
local ms = tonumber(ARGV[3])
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur and tonumber(cur) <= ms then
  local kept = redis.call('HGET', KEYS[2], ARGV[1])
  remember(KEYS[5], fp, kept)
  return {0, kept}
end
ensure_index(KEYS[3], KEYS[2])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[4])
redis.call('ZADD', KEYS[3], 0, ARGV[1])
local any = redis.call('HGET', KEYS[4], ARGV[2])
if not any or tonumber(any) > ms then redis.call('HSET', KEYS[4], ARGV[2], ARGV[3]) end
outbox(ARGV[5])
remember(KEYS[5], fp, ARGV[4])
return {1, ARGV[4]}
