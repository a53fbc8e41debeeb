-- Opens a recording's one audio upload.
-- KEYS[1] recording hash, KEYS[2] open uploads (zset: id by lease).
-- ARGV[1] now (ms), ARGV[2] id.
-- Returns 'ok', 'gone', 'busy' (an upload was opened before) or 'stopped'.
local f = redis.call('HMGET', KEYS[1], 'state', 'upload')
if not f[1] then return 'gone' end
if f[2] ~= 'none' then return 'busy' end
if f[1] == 'stopped' or f[1] == 'incomplete' then return 'stopped' end
redis.call('HSET', KEYS[1], 'upload', 'open', 'lease_ms', ARGV[1])
redis.call('ZADD', KEYS[2], tonumber(ARGV[1]), ARGV[2])
return 'ok'
