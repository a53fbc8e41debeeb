-- Stores the next rule-set version if the current one is the expected one.
-- KEYS: 1 {t:<tenant>}:cr, 2 outbox. ARGV: 1 expected version, 2 the new
-- version's bytes, 3 event record. Error VERSION_MISMATCH <current> otherwise.
local cur = redis.call('HGET', KEYS[1], 'current') or '0'
if cur ~= ARGV[1] then return {err = 'VERSION_MISMATCH ' .. cur} end
local v = tonumber(cur) + 1
redis.call('HSET', KEYS[1], 'v' .. v, ARGV[2], 'current', tostring(v))
outbox(ARGV[3])
return v
