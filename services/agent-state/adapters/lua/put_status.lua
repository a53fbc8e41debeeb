-- Stores an agent's new status if nobody wrote it since the caller read it,
-- with its index entries, the call it holds, the KPI counters the move adds
-- to and its events, in one step, and tells every replica's watchers
-- (PUBLISH). All keys are in the agent's home scope's slot.
-- The agent's campaigns' ready indexes (S:ready-c:<campaign>) are found from
-- its 'campaigns' field, in the same slot.
-- KEYS[1] agent hash, KEYS[2] ready zset, KEYS[3] timer zset, KEYS[4] call
-- key (used when ARGV[5] is not ""), KEYS[5] since zset (logged-in agents by
-- the time they entered their state), KEYS[6] state counts hash,
-- KEYS[7..#KEYS-1] KPI counter hashes, KEYS[#KEYS] outbox (EvalWithEvents).
-- ARGV[1] expected version, ARGV[2] agent id (index member), ARGV[3] ready
-- score (ms) or "", ARGV[4] timer score (ms) or "", ARGV[5] value for the
-- call key or "", ARGV[6] change channel, ARGV[7] the status as watchers see
-- it (serialized), ARGV[8] since score (ms) or "" (logged out), ARGV[9] n =
-- number of field/value pairs, ARGV[10..9+2n] the pairs, ARGV[10+2n] k =
-- number of KPI increments, then k triples (KEYS index, field, delta), then
-- the event records.
-- Returns 'OK', 'NOT_FOUND' or 'VERSION_CONFLICT'.
if redis.call('HEXISTS', KEYS[1], 'def') == 0 then return 'NOT_FOUND' end
local ver = tonumber(redis.call('HGET', KEYS[1], 'ver') or '0')
if ver ~= tonumber(ARGV[1]) then return 'VERSION_CONFLICT' end
local old_state = redis.call('HGET', KEYS[1], 'state') or 'LOGGED_OUT'
local n = tonumber(ARGV[9])
local fields = {}
local new_state = old_state
for i = 10, 9 + 2 * n, 2 do
  fields[#fields + 1] = ARGV[i]
  fields[#fields + 1] = ARGV[i + 1]
  if ARGV[i] == 'state' then new_state = ARGV[i + 1] end
end
if n > 0 then redis.call('HSET', KEYS[1], unpack(fields)) end
local function index(key, score)
  if score ~= '' then
    redis.call('ZADD', key, score, ARGV[2])
  else
    redis.call('ZREM', key, ARGV[2])
  end
end
index(KEYS[2], ARGV[3])
-- The per-campaign ready indexes (reservation reads the call's campaign's
-- only); their keys share the scope's hash tag, the prefix of KEYS[2].
local prefix = string.sub(KEYS[2], 1, #KEYS[2] - #':agent-ready')
for c in string.gmatch(redis.call('HGET', KEYS[1], 'campaigns') or '', '[^\n]+') do
  index(prefix .. ':ready-c:' .. c, ARGV[3])
end
index(KEYS[3], ARGV[4])
index(KEYS[5], ARGV[8])
if ARGV[5] ~= '' then redis.call('SET', KEYS[4], ARGV[5], 'EX', 86400) end
if new_state ~= old_state then
  if old_state ~= 'LOGGED_OUT' then redis.call('HINCRBY', KEYS[6], old_state, -1) end
  if new_state ~= 'LOGGED_OUT' then redis.call('HINCRBY', KEYS[6], new_state, 1) end
end
local at = 10 + 2 * n
local k = tonumber(ARGV[at])
for i = at + 1, at + 3 * k, 3 do
  local key = KEYS[tonumber(ARGV[i])]
  redis.call('HINCRBY', key, ARGV[i + 1], ARGV[i + 2])
  redis.call('EXPIRE', key, 34560000)  -- 400 days
end
for i = at + 1 + 3 * k, #ARGV do outbox(ARGV[i]) end
local team = redis.call('HGET', KEYS[1], 'team') or ''
redis.call('PUBLISH', ARGV[6], 's\n' .. team .. '\n' .. ARGV[7])
return 'OK'
