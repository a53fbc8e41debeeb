-- Creates a campaign if its id is free; with a request id, a retry of the
-- same request writes nothing and says so, another request under the same id
-- is refused.
-- KEYS[1] campaign hash, KEYS[2] the tenant's campaign index (zset by id),
-- KEYS[3] request-id key (used when ARGV[4] is not ""), KEYS[4] outbox.
-- ARGV[1] campaign id, ARGV[2] definition, ARGV[3] etag, ARGV[4] request
-- fingerprint or "", then the event records.
-- Returns 'OK', 'REPLAY', 'REUSED' or 'EXISTS'.
if ARGV[4] ~= '' then
  local seen = redis.call('GET', KEYS[3])
  if seen then
    if seen == ARGV[4] .. '|' .. ARGV[1] then return 'REPLAY' end
    return 'REUSED'
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then return 'EXISTS' end
redis.call('HSET', KEYS[1], 'def', ARGV[2], 'etag', ARGV[3])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
if ARGV[4] ~= '' then redis.call('SET', KEYS[3], ARGV[4] .. '|' .. ARGV[1], 'EX', 86400) end
for i = 5, #ARGV do outbox(ARGV[i]) end
return 'OK'
