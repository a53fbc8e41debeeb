-- Replaces a recording's wrapped data key if it is still wrapped with the
-- expected key. KEYS[1] recording hash. ARGV[1] expected key id, ARGV[2] new
-- key id, ARGV[3] new wrapped key (base64). Returns 'ok', 'gone' or 'changed'.
local kid = redis.call('HGET', KEYS[1], 'kid')
if not kid then return 'gone' end
if kid ~= ARGV[1] then return 'changed' end
redis.call('HSET', KEYS[1], 'kid', ARGV[2], 'wkey', ARGV[3])
return 'ok'
