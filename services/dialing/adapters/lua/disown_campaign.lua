-- Gives a campaign's ownership up if ARGV[1] (instance) holds it.
-- KEYS[1] owner key. Returns 1 when released, 0 otherwise.
local owner = redis.call('GET', KEYS[1])
if owner and string.match(owner, '^%d+|(.*)$') == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
