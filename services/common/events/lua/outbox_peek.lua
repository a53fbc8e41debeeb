-- The relay reads a tenant's outbox under a hold, so two relays never
-- publish the same batch at once.
-- KEYS[1] outbox list, KEYS[2] hold key.
-- ARGV[1] relay instance, ARGV[2] hold in ms, ARGV[3] most records to read.
-- Returns the records, or false when another instance holds the outbox.
local holder = redis.call('GET', KEYS[2])
if holder and holder ~= ARGV[1] then return false end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[3]) - 1)
