-- Applies a call's end once: attempts (the number's, the contact's, the
-- debt's), abandoned-call and answering-machine times, the campaign's hourly
-- counts, a conversation about a debt, audit. Once per event id (a
-- `dialing` event), or per request id (RecordCallOutcome: then its outbox
-- event too, and a retry gets the first reply).
-- KEYS (all {t:<tenant>}:...): 1 ev:<event id> or ev:api:<request id>,
--   2 an:<e164>, 3 ac:<contact>, 4 ab:<e164>, 5 abr:<campaign>,
--   6 aud:<e164>, 7 am:<e164>, 8 ad:<debt>, 9 rc:<debt>, then the outbox
--   (RecordCallOutcome only) (3, 5, 8 and 9 are {t:<tenant>}:none without a
--   contact, campaign or debt: never touched)
-- ARGV: 1 contact, 2 campaign id, 3 outcome, 4 dial ms, 5 end ms, 6 hour of
--   the answer, 7 decision id, 8 attempts kept ms, 9 retention ms, 10 record,
--   11 event id, 12 debt, 13 conversation ms ('' when the call is not a
--   conversation about its debt), 14 what identifies the request ('' for an
--   event), 15 outbox record ('' for none), 16 reply (RecordCallOutcome),
--   17 estimated AMD hang-ups on live persons per live answer ('' for none:
--   AMD did not screen the attempt), kept as e:<hour>
-- Returns {1, reply} when applied, {0, first reply} when applied before;
-- error REQUEST_ID_REUSED when the request id came with another request.
local contact, camp, outcome = ARGV[1], ARGV[2], ARGV[3]
local dial, ended, hour, did = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6], ARGV[7]
local keep, retention = tonumber(ARGV[8]), tonumber(ARGV[9])
local debt, conv = ARGV[12], ARGV[13]
if ARGV[14] ~= '' then
  local fp = redis.sha1hex(ARGV[14])
  local prev = previous(KEYS[1], fp)
  if prev == false then return {err = 'REQUEST_ID_REUSED'} end
  if prev then return {0, prev} end
  redis.call('SET', KEYS[1], fp .. ARGV[16], 'PX', 2592000000)
elseif not redis.call('SET', KEYS[1], '1', 'NX', 'PX', 2592000000) then
  return {0, ''}
end
local member = did ~= '' and did or ('ev:' .. ARGV[11])
local keys = {KEYS[2]}
if contact ~= '' then keys[#keys + 1] = KEYS[3] end
if debt ~= '' then keys[#keys + 1] = KEYS[8] end
for _, k in ipairs(keys) do
  if outcome == 'NOT_PLACED' then
    redis.call('ZREM', k, member)
  else
    redis.call('ZADD', k, 'NX', dial, member)
    if redis.call('PTTL', k) < keep then redis.call('PEXPIRE', k, keep) end
  end
end
if debt ~= '' and conv ~= '' then
  -- kept as long as attempts: the lockout itself lasts days
  redis.call('ZADD', KEYS[9], tonumber(conv), member)
  redis.call('ZREMRANGEBYSCORE', KEYS[9], '-inf', '(' .. (tonumber(conv) - keep))
  if redis.call('PTTL', KEYS[9]) < keep then redis.call('PEXPIRE', KEYS[9], keep) end
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
  if ARGV[17] ~= nil and ARGV[17] ~= '' then
    redis.call('HINCRBYFLOAT', key, 'e:' .. hour, ARGV[17])
  end
  if fresh then
    -- a new hour: drop the hours older than 30 days
    local oldest = tonumber(hour) - 720
    for _, f in ipairs(redis.call('HKEYS', key)) do
      if tonumber(string.sub(f, 3)) <= oldest then redis.call('HDEL', key, f) end
    end
  end
end
audit(KEYS[6], ended, ARGV[10], retention)
if ARGV[15] ~= '' then outbox(ARGV[15]) end
return {1, ARGV[16] or ''}
