-- Appends one record to a scope's audit log, once per event id.
-- KEYS (all <tag>:..., one hash slot):
--   1 audit                 STREAM of records, field r = AuditRecord bytes
--   2 audit-seen:<event id> STRING, the event was appended (expires)
-- ARGV: 1 AuditRecord bytes, 2 seen TTL in seconds, 3 retention in ms
--       (records appended longer ago, by Redis' clock, are trimmed)
-- Returns 1 appended, 0 the event was appended before (nothing written).
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[2]) then return 0 end
local now = redis.call('TIME')
local oldest = math.max(0, tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - tonumber(ARGV[3]))
redis.call('XADD', KEYS[1], 'MINID', '~', string.format('%d-0', oldest), '*', 'r', ARGV[1])
return 1
