-- The current rule-set version and its bytes in one round trip.
-- KEYS: 1 {t:<tenant>}:cr. Returns {} when the tenant has none, else
-- {version, bytes or false}.
local cur = redis.call('HGET', KEYS[1], 'current')
if not cur then return {} end
return {cur, redis.call('HGET', KEYS[1], 'v' .. cur)}
