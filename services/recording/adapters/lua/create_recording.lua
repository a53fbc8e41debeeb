-- Creates a recording with its index entry, idempotency record, creation
-- chain entry and events.
-- KEYS[1] chain list, KEYS[2] chain head, KEYS[3] recording hash, KEYS[4]
-- the tenant's index (zset, score 0, members "<ms>.<id>"), KEYS[5] the
-- request id's record, KEYS[6] expiry index (zset: id by retain_ms),
-- KEYS[7] the contact's recordings (set; '' without a contact), KEYS[8]
-- the usage counters of the day (hash), KEYS[9] the usage totals (hash),
-- KEYS[10] outbox (EvalWithEvents).
-- ARGV[1..4] chain entry (chain.lua), ARGV[5] id, ARGV[6] index member,
-- ARGV[7] request id ('' for none), ARGV[8] request fingerprint, ARGV[9] n =
-- number of field/value pairs, then the pairs, then ARGV[10 + 2n] retain_ms,
-- then the event records.
-- Returns {'ok'}, {'replay', id}, {'reused'}, {'exists'} or {'moved'}.
if ARGV[7] ~= '' then
  local prior = redis.call('GET', KEYS[5])
  if prior then
    local tab = string.find(prior, '\t', 1, true)
    if tab and string.sub(prior, 1, tab - 1) == ARGV[8] then
      return {'replay', string.sub(prior, tab + 1)}
    end
    return {'reused'}
  end
end
if redis.call('EXISTS', KEYS[3]) == 1 then return {'exists'} end
if not chain_ok() then return {'moved'} end
local n = tonumber(ARGV[9])
local fields = {}
for i = 10, 9 + 2 * n do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[3], unpack(fields))
redis.call('ZADD', KEYS[4], 0, ARGV[6])
redis.call('ZADD', KEYS[6], tonumber(ARGV[10 + 2 * n]), ARGV[5])
if KEYS[7] ~= '' then redis.call('SADD', KEYS[7], ARGV[5]) end
redis.call('HINCRBY', KEYS[8], 'started', 1)
redis.call('HINCRBY', KEYS[9], 'started', 1)
redis.call('HINCRBY', KEYS[9], 'recordings', 1)
if ARGV[7] ~= '' then
  redis.call('SET', KEYS[5], ARGV[8] .. '\t' .. ARGV[5], 'EX', 86400)
end
chain_push()
for i = 11 + 2 * n, #ARGV do outbox(ARGV[i]) end
return {'ok'}
