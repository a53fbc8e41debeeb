-- Opens a recording's upload again after its stream broke off (INCOMPLETE
-- with reason STREAM_BROKEN, upload done, not stopped): it is RECORDING
-- again with the upload open; its last_seq and counters go on.
-- KEYS[1] recording hash, KEYS[2] open uploads (zset: id by lease).
-- ARGV[1] now (ms), ARGV[2] id.
-- Returns 'ok', 'gone', 'busy' (an upload is open or being salvaged),
-- 'stopped' or 'no' (nothing to resume: not broken off).
local f = redis.call('HMGET', KEYS[1], 'state', 'upload', 'inc_reason', 'stop_ms')
if not f[1] then return 'gone' end
if f[2] == 'open' or f[2] == 'salvaging' then return 'busy' end
if f[2] ~= 'done' or f[1] ~= 'incomplete' or f[3] ~= 'STREAM_BROKEN' then return 'no' end
if f[4] then return 'stopped' end
redis.call('HSET', KEYS[1], 'upload', 'open', 'lease_ms', ARGV[1], 'state', 'recording')
redis.call('HDEL', KEYS[1], 'inc_reason')
redis.call('ZADD', KEYS[2], tonumber(ARGV[1]), ARGV[2])
return 'ok'
