-- Prepended to every write script that emits events: outbox(record) appends
-- a framed record to the tenant's outbox, which callers of EvalWithEvents
-- get as the last key (KEYS[#KEYS]), so it shares the tenant's hash slot.
local function outbox(rec) redis.call('RPUSH', KEYS[#KEYS], rec) end
