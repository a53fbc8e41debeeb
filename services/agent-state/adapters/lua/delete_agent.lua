-- Deletes a logged-out agent whose definition and status are unchanged since
-- the caller read them, with its index entries and grants, and tells
-- watchers of the scopes concerned to take a fresh snapshot.
-- KEYS[1] agent hash, KEYS[2] the scope's agent index, KEYS[3] ready zset,
-- KEYS[4] timer zset, KEYS[5..4+g] grant sets of the tenants it is granted
-- to, KEYS[#KEYS] outbox. ARGV[1] expected etag, ARGV[2] expected status
-- version, ARGV[3] agent id, ARGV[4] g, ARGV[5] change channel, ARGV[6] the
-- change message, then the event records.
-- Returns 'OK', 'NOT_FOUND', 'ETAG_MISMATCH', 'VERSION_CONFLICT' or 'BUSY'.
if redis.call('HEXISTS', KEYS[1], 'def') == 0 then return 'NOT_FOUND' end
if (redis.call('HGET', KEYS[1], 'etag') or '') ~= ARGV[1] then return 'ETAG_MISMATCH' end
if tonumber(redis.call('HGET', KEYS[1], 'ver') or '0') ~= tonumber(ARGV[2]) then
  return 'VERSION_CONFLICT'
end
if redis.call('HGET', KEYS[1], 'state') ~= 'LOGGED_OUT' then return 'BUSY' end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[3])
redis.call('ZREM', KEYS[3], ARGV[3])
redis.call('ZREM', KEYS[4], ARGV[3])
for i = 5, 4 + tonumber(ARGV[4]) do redis.call('SREM', KEYS[i], ARGV[3]) end
for i = 7, #ARGV do outbox(ARGV[i]) end
redis.call('PUBLISH', ARGV[5], ARGV[6])
return 'OK'
