-- Writes a call and its events, fenced by the campaign's owner.
-- KEYS[1] call hash, KEYS[2] the campaign's owner key, KEYS[3] the
-- campaign's open calls (zset by dial time), KEYS[4] the campaign's hopper
-- (the call's contact leaves it), KEYS[5] the tenant's lines in use (zset of
-- call ids by dial time, all campaigns), KEYS[6] the tenant's calls awaiting
-- a disposition (zset of call ids by the time they started to), KEYS[7]
-- outbox.
-- ARGV[1] fencing token ('0': a disposition, allowed on any replica while
-- the stored call awaits one), ARGV[2] call (serialized), ARGV[3] lease id,
-- ARGV[4] contact attempts, ARGV[5] '1' open / '0' finished, ARGV[6] call
-- id, ARGV[7] dial time (ms), ARGV[8] retention (ms), ARGV[9] '1' awaiting a
-- disposition, ARGV[10] the contact, ARGV[11] '1' while the call holds a
-- line (not ended), ARGV[12] the tenant's max_concurrent_lines (0: no limit),
-- ARGV[13] the oldest dial time (ms) a line may still be held from (lines
-- of calls nobody ended are dropped after it), ARGV[14] when the call
-- ended (ms: it awaits its disposition from then), then the event records.
-- Returns 'OK', 'FENCED', 'NOT_AWAITING' or 'LINE_QUOTA' (a new call over
-- the tenant's quota: nothing written).
if ARGV[1] ~= '0' then
  local owner = redis.call('GET', KEYS[2])
  if not owner or string.match(owner, '^(%d+)|') ~= ARGV[1] then return 'FENCED' end
else
  if redis.call('HGET', KEYS[1], 'awaiting') ~= '1' then return 'NOT_AWAITING' end
end
if ARGV[11] == '1' then
  if not redis.call('ZSCORE', KEYS[5], ARGV[6]) then
    redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', '(' .. ARGV[13])
    local max = tonumber(ARGV[12])
    if max > 0 and redis.call('ZCARD', KEYS[5]) >= max then return 'LINE_QUOTA' end
    redis.call('ZADD', KEYS[5], ARGV[7], ARGV[6])
  end
else
  redis.call('ZREM', KEYS[5], ARGV[6])
end
redis.call('HSET', KEYS[1], 'def', ARGV[2], 'lease', ARGV[3], 'attempts', ARGV[4],
           'awaiting', ARGV[9])
redis.call('PEXPIRE', KEYS[1], ARGV[8])
if ARGV[9] == '1' then
  redis.call('ZADD', KEYS[6], ARGV[14], ARGV[6])
else
  redis.call('ZREM', KEYS[6], ARGV[6])
end
if ARGV[5] == '1' then
  redis.call('ZADD', KEYS[3], ARGV[7], ARGV[6])
else
  redis.call('ZREM', KEYS[3], ARGV[6])
end
redis.call('HDEL', KEYS[4], ARGV[10])
for i = 15, #ARGV do outbox(ARGV[i]) end
return 'OK'
