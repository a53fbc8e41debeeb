-- Applies a call's end once per event id: attempts, abandoned-call time,
-- the campaign's hourly counts, audit.
-- KEYS (all {t:<tenant>}:...): 1 ev:<event id>, 2 an:<e164>, 3 ac:<contact>,
--   4 ab:<e164>, 5 abr:<campaign>, 6 aud:<e164>, 7 am:<e164> (3 and 5 are
--   {t:<tenant>}:none without a contact or campaign: never touched)
-- ARGV: 1 contact, 2 campaign id, 3 outcome, 4 dial ms, 5 end ms, 6 hour of
--   the answer, 7 decision id, 8 attempts kept ms, 9 retention ms, 10 record,
--   11 event id
-- Returns 1 when applied, 0 when the event was applied before.
local contact, camp, outcome = ARGV[1], ARGV[2], ARGV[3]
local dial, ended, hour, did = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6], ARGV[7]
local keep, retention = tonumber(ARGV[8]), tonumber(ARGV[9])
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', 2592000000) then return 0 end
local member = did ~= '' and did or ('ev:' .. ARGV[11])
local keys = {KEYS[2]}
if contact ~= '' then keys[2] = KEYS[3] end
for _, k in ipairs(keys) do
  if outcome == 'NOT_PLACED' then
    redis.call('ZREM', k, member)
  else
    redis.call('ZADD', k, 'NX', dial, member)
    if redis.call('PTTL', k) < keep then redis.call('PEXPIRE', k, keep) end
  end
end
if outcome == 'ABANDONED' then
  local prev = tonumber(redis.call('GET', KEYS[4]) or '0')
  if ended > prev then redis.call('SET', KEYS[4], ended, 'PX', 7776000000) end
end
if outcome == 'MACHINE' then
  local prev = tonumber(redis.call('GET', KEYS[7]) or '0')
  if ended > prev then redis.call('SET', KEYS[7], ended, 'PX', 7776000000) end
end
if camp ~= '' and (outcome == 'ABANDONED' or outcome == 'ANSWERED_CONNECTED') then
  local key = KEYS[5]
  local fresh = redis.call('HINCRBY', key, 'l:' .. hour, 1) == 1
  if outcome == 'ABANDONED' then redis.call('HINCRBY', key, 'a:' .. hour, 1) end
  if fresh then
    -- a new hour: drop the hours older than 30 days
    local oldest = tonumber(hour) - 720
    for _, f in ipairs(redis.call('HKEYS', key)) do
      if tonumber(string.sub(f, 3)) <= oldest then redis.call('HDEL', key, f) end
    end
  end
end
audit(KEYS[6], ended, ARGV[10], retention)
return 1
