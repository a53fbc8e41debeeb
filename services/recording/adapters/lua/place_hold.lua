-- Places a legal hold: its record, list entry, the selector set the purge
-- and erasure check (every active hold id on that scope and target), the
-- 'held' chain entry and events.
-- KEYS[1] chain list, KEYS[2] chain head, KEYS[3] hold hash, KEYS[4] the
-- tenant's holds (zset, score 0, members "<ms>.<id>"), KEYS[5] the request
-- id's record, KEYS[6] the selector set, KEYS[7] the usage totals
-- ('holds': active holds), KEYS[8] outbox.
-- ARGV[1..4] chain entry, ARGV[5] id, ARGV[6] list member, ARGV[7] request
-- id ('' for none), ARGV[8] fingerprint, ARGV[9] n pairs, the pairs, then
-- the event records. Returns {'ok'}, {'replay', id}, {'reused'},
-- {'exists'} or {'moved'}.
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
redis.call('SADD', KEYS[6], ARGV[5])
redis.call('HINCRBY', KEYS[7], 'holds', 1)
if ARGV[7] ~= '' then
  redis.call('SET', KEYS[5], ARGV[8] .. '\t' .. ARGV[5], 'EX', 86400)
end
chain_push()
for i = 10 + 2 * n, #ARGV do outbox(ARGV[i]) end
return {'ok'}
