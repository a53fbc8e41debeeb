-- Stores an agent's new status if nobody wrote it since the caller read it,
-- with its ready and timer index entries, the call it holds and its events,
-- in one step, and tells every replica's watchers (PUBLISH). All keys are in
-- the agent's home scope's slot.
-- KEYS[1] agent hash, KEYS[2] ready zset, KEYS[3] timer zset, KEYS[4] call
-- key (used when ARGV[5] is not ""), KEYS[5] outbox (EvalWithEvents).
-- ARGV[1] expected version, ARGV[2] agent id (index member), ARGV[3] ready
-- score (ms) or "", ARGV[4] timer score (ms) or "", ARGV[5] value for the
-- call key or "", ARGV[6] change channel, ARGV[7] the status as watchers see
-- it (serialized), ARGV[8] n = number of field/value pairs, ARGV[9..8+2n]
-- the pairs, then the event records.
-- Returns 'OK', 'NOT_FOUND' or 'VERSION_CONFLICT'.
if redis.call('HEXISTS', KEYS[1], 'def') == 0 then return 'NOT_FOUND' end
local ver = tonumber(redis.call('HGET', KEYS[1], 'ver') or '0')
if ver ~= tonumber(ARGV[1]) then return 'VERSION_CONFLICT' end
local n = tonumber(ARGV[8])
local fields = {}
for i = 9, 8 + 2 * n do fields[#fields + 1] = ARGV[i] end
if n > 0 then redis.call('HSET', KEYS[1], unpack(fields)) end
if ARGV[3] ~= '' then
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
else
  redis.call('ZREM', KEYS[2], ARGV[2])
end
if ARGV[4] ~= '' then
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[2])
else
  redis.call('ZREM', KEYS[3], ARGV[2])
end
if ARGV[5] ~= '' then redis.call('SET', KEYS[4], ARGV[5], 'EX', 86400) end
for i = 9 + 2 * n, #ARGV do outbox(ARGV[i]) end
local team = redis.call('HGET', KEYS[1], 'team') or ''
redis.call('PUBLISH', ARGV[6], 's\n' .. team .. '\n' .. ARGV[7])
return 'OK'
