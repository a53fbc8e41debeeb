-- The tenant's hash chain, for scripts that append an entry (prepended to
-- them by the Redis store). ARGV[1] the head hash the entry links to,
-- ARGV[2] its sequence number ('' for no entry), ARGV[3] the record, ARGV[4]
-- its hash; the chain list and its head hash are KEYS[1] and KEYS[2].
local genesis = string.rep('0', 64)
-- Whether the entry still links to the head (check before any write).
local function chain_ok()
  if ARGV[2] == '' then return true end
  local h = redis.call('HMGET', KEYS[2], 'hash', 'seq')
  local cur = h[1] or genesis
  local seq = tonumber(h[2] or '0')
  return cur == ARGV[1] and seq + 1 == tonumber(ARGV[2])
end
local function chain_push()
  if ARGV[2] == '' then return end
  redis.call('RPUSH', KEYS[1], ARGV[3])
  redis.call('HSET', KEYS[2], 'hash', ARGV[4], 'seq', ARGV[2])
end
