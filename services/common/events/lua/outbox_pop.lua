-- Drops the first ARGV[2] records once they are published, if this relay
-- still holds the outbox (else the batch stays and is published again).
-- KEYS[1] outbox list, KEYS[2] hold key. ARGV[1] relay instance, ARGV[2] n.
-- Returns 1, or 0 when the hold lapsed.
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('LTRIM', KEYS[1], ARGV[2], -1)
return 1
