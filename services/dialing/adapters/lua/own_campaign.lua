-- Takes or renews a running campaign's ownership.
-- KEYS[1] owner key ("<token>|<instance>"), KEYS[2] the campaign's fencing
-- counter. ARGV[1] instance, ARGV[2] time to live (ms).
-- Returns the owner's token (renewed or new), or 0 when another instance
-- owns the campaign.
local owner = redis.call('GET', KEYS[1])
if owner then
  local token, instance = string.match(owner, '^(%d+)|(.*)$')
  if instance == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return tonumber(token)
  end
  return 0
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], token .. '|' .. ARGV[1], 'PX', ARGV[2])
return token
