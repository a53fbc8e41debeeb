-- Decides on one audio chunk of an open upload: a repeat is ignored, a
-- chunk out of order or after the stop refused, a paused recording's chunk
-- discarded (counted in the open gap), and a stored chunk counted against
-- the tenant's storage quota.
-- KEYS[1] recording hash, KEYS[2] the tenant's usage counter, KEYS[3] open
-- uploads (zset: id by lease; each chunk renews the lease), KEYS[4] the
-- usage counters of the day, KEYS[5] the usage totals (stored audio bytes
-- counted as 'ingested').
-- ARGV[1] sequence, ARGV[2] audio bytes, ARGV[3] most bytes the tenant may
-- use (-1: no limit), ARGV[4] now (ms), ARGV[5] id.
-- Returns {'stored'}, {'discarded'}, {'dup'}, {'gap', next expected},
-- {'stopped'}, {'quota'}, {'closed'} or {'gone'}.
local f = redis.call('HMGET', KEYS[1], 'state', 'upload', 'last_seq')
if not f[1] then return {'gone'} end
if f[2] ~= 'open' then return {'closed'} end
local seq = tonumber(ARGV[1])
local last = tonumber(f[3] or '0')
redis.call('HSET', KEYS[1], 'lease_ms', ARGV[4])
redis.call('ZADD', KEYS[3], tonumber(ARGV[4]), ARGV[5])
if seq <= last then return {'dup'} end
if seq > last + 1 then return {'gap', tostring(last + 1)} end
if f[1] == 'stopped' or f[1] == 'incomplete' then return {'stopped'} end
local len = tonumber(ARGV[2])
if f[1] == 'paused' then
  redis.call('HSET', KEYS[1], 'last_seq', ARGV[1])
  redis.call('HINCRBY', KEYS[1], 'discarded', len)
  redis.call('HINCRBY', KEYS[1], 'pause_disc', len)
  return {'discarded'}
end
local max = tonumber(ARGV[3])
if max >= 0 and tonumber(redis.call('GET', KEYS[2]) or '0') + len > max then return {'quota'} end
redis.call('HSET', KEYS[1], 'last_seq', ARGV[1])
redis.call('HINCRBY', KEYS[1], 'accepted', len)
redis.call('INCRBY', KEYS[2], len)
redis.call('HINCRBY', KEYS[4], 'ingested', len)
redis.call('HINCRBY', KEYS[5], 'ingested', len)
return {'stored'}
