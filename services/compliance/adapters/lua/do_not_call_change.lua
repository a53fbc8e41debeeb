-- Adds numbers to or removes them from a do-not-call list, with the event
-- and, when the request has an id, its reply (a retry answers the same and
-- changes nothing).
-- KEYS (all {t:<tenant>}:...): 1 dnc[:<campaign>] (set), 2 dncm[:<campaign>]
--   (entries), 3 dncx[:<campaign>] (listing index), 4 mreq:<request id>
--   (none without one), 5 ebrend (E.164 -> ms of the latest do-not-call
--   request), 6 outbox:compliance
-- ARGV: 1 add|remove, 2 entry bytes (add), 3 event record, 4 what identifies
--   the request (method and request bytes; '' without request id),
--   5 the request's ms (add: a do-not-call request to the tenant ends the
--   numbers' established business relationships dated up to its date, even
--   for a number listed already), 6.. numbers (E.164)
-- Returns {changed, unchanged}; error REQUEST_ID_REUSED when the id came
-- with a different request.
local fp = ARGV[4] ~= '' and redis.sha1hex(ARGV[4]) or ''
local prev = previous(KEYS[4], fp)
if prev == false then return {err = 'REQUEST_ID_REUSED'} end
if prev then
  local c, s = string.match(prev, '^(%d+)|(%d+)$')
  return {tonumber(c), tonumber(s)}
end
local set, meta, index = KEYS[1], KEYS[2], KEYS[3]
ensure_index(index, meta)
local changed, same = 0, 0
for i = 6, #ARGV do
  local n = ARGV[i]
  if ARGV[1] == 'add' then
    local e = redis.call('HGET', KEYS[5], n)
    if not e or tonumber(e) < tonumber(ARGV[5]) then redis.call('HSET', KEYS[5], n, ARGV[5]) end
    if redis.call('SADD', set, n) == 1 then
      changed = changed + 1
      redis.call('HSET', meta, n, ARGV[2])
      redis.call('ZADD', index, 0, n)
    else
      same = same + 1
    end
  else
    if redis.call('SREM', set, n) == 1 then
      changed = changed + 1
      redis.call('HDEL', meta, n)
      redis.call('ZREM', index, n)
    else
      same = same + 1
    end
  end
end
outbox(ARGV[3])
remember(KEYS[4], fp, changed .. '|' .. same)
return {changed, same}
