-- Creates, updates (scope) or deletes the definition of a registry created
-- over the API, with its event (vendor scope).
-- KEYS (all {vendor}:...): 1 registry-defs (HASH id -> definition bytes),
--   2 registry:<id>:add, 3 registry:<id>:del, 4 registry:<id>:asof,
--   5 registry:<id>:dates, 6 registry:<id>:atonce, 7 registry:<id>:seq
-- ARGV: 1 event record, 2 'create' | 'update' | 'delete', 3 id,
--   4 the definition (a serialized dialgrid.compliance.v1.Registry)
-- Returns 1, or 0 when the id is (create) / is not (update, delete) defined.
local defs, op, id = KEYS[1], ARGV[2], ARGV[3]
local exists = redis.call('HEXISTS', defs, id) == 1
if (op == 'create') == exists then return 0 end
if op == 'delete' then
  redis.call('HDEL', defs, id)
  redis.call('UNLINK', KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7])
else
  redis.call('HSET', defs, id, ARGV[4])
end
outbox(ARGV[1])
return 1
