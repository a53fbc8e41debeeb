-- Creates a contact list with its event; with a request id, at most once.
-- KEYS: 1 the list hash, 2 the tenant's list ids, 3 the request record
--       (P req:list:<request id>; only read or written when ARGV[4] ~= ''),
--       4 the tenant's outbox (outbox()).
-- ARGV: 1 list proto, 2 etag, 3 list id, 4 request fingerprint ('' = no
--       request id), 5 seconds the request record is kept, 6... event records.
-- Returns {1} created, {0} the list exists, {2, proto} an earlier call with
-- this request id created it (the list as it was then); error REUSED when
-- that request id came with another request.
if ARGV[4] ~= '' then
  local rec = redis.call('HMGET', KEYS[3], 'fp', 'proto')
  if rec[1] then
    if rec[1] ~= ARGV[4] then return {err = 'REUSED'} end
    return {2, rec[2]}
  end
end
if redis.call('HSETNX', KEYS[1], 'proto', ARGV[1]) == 0 then return {0} end
-- xl/xs: the external-id index starts with one bucket and grows with the list.
redis.call('HSET', KEYS[1], 'etag', ARGV[2], 'count', '0', 'xl', '0', 'xs', '0')
redis.call('ZADD', KEYS[2], 0, ARGV[3])
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[3], 'fp', ARGV[4], 'proto', ARGV[1])
  redis.call('EXPIRE', KEYS[3], tonumber(ARGV[5]))
end
for i = 6, #ARGV do outbox(ARGV[i]) end
return {1}
