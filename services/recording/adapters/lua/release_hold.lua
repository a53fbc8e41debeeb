-- Releases an active legal hold: it leaves its selector set (so it covers
-- nothing from now on), with the 'released' chain entry and events.
-- KEYS[1] chain list, KEYS[2] chain head, KEYS[3] hold hash, KEYS[4] the
-- selector set, KEYS[5] the usage totals ('holds': active holds), KEYS[6]
-- outbox.
-- ARGV[1..4] chain entry, ARGV[5] id, ARGV[6] now (ms), ARGV[7] actor,
-- ARGV[8] reason, then the event records.
-- Returns 'ok', 'gone', 'released' (before: nothing written) or 'moved'.
local st = redis.call('HGET', KEYS[3], 'state')
if not st then return 'gone' end
if st ~= 'active' then return 'released' end
if not chain_ok() then return 'moved' end
redis.call('HSET', KEYS[3], 'state', 'released', 'release_ms', ARGV[6], 'released_by', ARGV[7],
           'release_reason', ARGV[8])
redis.call('SREM', KEYS[4], ARGV[5])
redis.call('HINCRBY', KEYS[5], 'holds', -1)
chain_push()
for i = 9, #ARGV do outbox(ARGV[i]) end
return 'ok'
