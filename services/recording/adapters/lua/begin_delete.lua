-- Decides and records the deletion of a recording (retention or erasure):
-- refused while an active legal hold covers it (any of its selector sets is
-- not empty), while its upload is open, and (retention) before its
-- expire_time. Otherwise, in one step: the 'deleted' chain entry, the
-- recording marked deleted (it reads as gone from now on), its storage
-- usage given back, it leaves the expiry index and enters the deleting
-- index (the caller deletes the audio, then finish_delete.lua the
-- metadata; a re-run finishes what a dead process began), and events.
-- KEYS[1] chain list, KEYS[2] chain head, KEYS[3] recording hash, KEYS[4]
-- usage counter, KEYS[5] expiry index, KEYS[6] deleting index, KEYS[7..10]
-- the recording's selector sets (recording, call, contact, campaign; a
-- missing one repeats the first), KEYS[11] the usage counters of the day,
-- KEYS[12] the usage totals, KEYS[13] outbox.
-- ARGV[1..4] chain entry, ARGV[5] id, ARGV[6] cause ('retention' or
-- 'erasure'), ARGV[7] now (ms), then the event records.
-- Returns {'ok'}, {'gone'}, {'uploading'}, {'notdue'}, {'held', ids...} or
-- {'moved'}.
-- Usage: 'purged' or 'erased' +1 (day and totals), the recording and its
-- file size leave the totals; an expired recording the purge finds held is
-- counted once in 'held_past_retention' (field held_kept) until deleted.
local f = redis.call('HMGET', KEYS[3], 'upload', 'retain_ms', 'stored_bytes', 'del_ms',
                     'held_kept')
if not f[1] then
  redis.call('ZREM', KEYS[5], ARGV[5])
  return {'gone'}
end
if f[4] then return {'gone'} end
if f[1] == 'open' or f[1] == 'salvaging' then return {'uploading'} end
if ARGV[6] == 'retention' and tonumber(f[2] or '0') > tonumber(ARGV[7]) then
  return {'notdue'}
end
local held = {'held'}
local seen = {}
for k = 7, 10 do
  if not seen[KEYS[k]] then
    seen[KEYS[k]] = true
    for _, id in ipairs(redis.call('SMEMBERS', KEYS[k])) do held[#held + 1] = id end
  end
end
if #held > 1 then
  if ARGV[6] == 'retention' and not f[5] then
    redis.call('HSET', KEYS[3], 'held_kept', '1')
    redis.call('HINCRBY', KEYS[12], 'held_past_retention', 1)
  end
  return held
end
if not chain_ok() then return {'moved'} end
redis.call('HSET', KEYS[3], 'del_ms', ARGV[7], 'del_cause', ARGV[6])
if f[1] == 'done' then
  local bytes = tonumber(f[3] or '0')
  if bytes ~= 0 then redis.call('DECRBY', KEYS[4], bytes) end
end
redis.call('ZREM', KEYS[5], ARGV[5])
redis.call('ZADD', KEYS[6], tonumber(ARGV[7]), ARGV[5])
local counter = ARGV[6] == 'retention' and 'purged' or 'erased'
redis.call('HINCRBY', KEYS[11], counter, 1)
redis.call('HINCRBY', KEYS[12], counter, 1)
redis.call('HINCRBY', KEYS[12], 'recordings', -1)
local at_rest = tonumber(f[3] or '0')
if at_rest ~= 0 then redis.call('HINCRBY', KEYS[12], 'stored_bytes', -at_rest) end
if f[5] then redis.call('HINCRBY', KEYS[12], 'held_past_retention', -1) end
chain_push()
for i = 8, #ARGV do outbox(ARGV[i]) end
return {'ok'}
