-- The atomic part of CheckDial (and of each scrub entry): refuses a check
-- computed under a rule-set version that is no longer current, checks the
-- tenant and campaign lists, consent, the abandon quiet period and every cap,
-- reserves the attempt when everything allows it, and writes the audit
-- record, the outbox event and the request id's decision.
-- KEYS (all {t:<tenant>}:...; the outbox is appended by EvalWithEvents):
--   1 cr   2 dnc   3 dnc:<campaign>   4 cons   5 ab:<e164>   6 an:<e164>
--   7 ac:<contact>   8 aud:<e164>   9 dreq:<request id>   10 ad:<debt>
--   11 am:<e164>   12 rc:<debt>   13 ebr   14 ebrend   15 refp   16 refa
--   17 outbox:compliance
--   (3, 7, 9, 10 and 12 are {t:<tenant>}:none without a campaign, contact,
--   request id or debt: declared so the key list is fixed, never touched)
-- ARGV: 1 evaluation ms, 2 number, 3 contact, 4 campaign id, 5 rule-set
--   version, 6 reserve 0|1, 7 decision id, 8 request id, 9 consent needed
--   "<level>|<rules>" (level 0 none, 1 any consent, 2 written only),
--   10 quiet period ms, 11 attempts kept ms, 12 audit retention ms,
--   13 allowed so far 0|1, 14 partial decision bytes, 15 event bytes,
--   16 recorded ms, 17.. caps: n, then n x (id, max, window ms), for the
--   number, the contact and the debt; then the machine lockout ms, its rule
--   id, the rule id of the quiet period, the debt ('' for none), the rule id
--   of the conversation lockout, and its steps: n, then n x (from ms, until
--   ms) (see domain/day_lockout.h: the latest conversation about the debt at
--   or after the first `from` and not after now locks the dial out until
--   the `until` of the last step starting at or before it). Then the
--   registry listings an established business relationship or a consent
--   may lift: n, then n x (registry id, transaction rule, its min day,
--   inquiry rule, its min day, max day, consent rule, consent level) (days
--   since 1970-01-01; a relationship dated d counts when min <= d <= max,
--   its rule is not '', and no do-not-call request ended it: d after the
--   request's date at UTC+14; else a consent record valid now of at least
--   the level lifts it when the consent rule is not ''); then the calling-hour
--   reasons a separate consent waives ('' none; "code|rule|detail" joined
--   by \31), their not-before ms (-1 never), the consent scope number, the
--   waiver rows; then the refusal rule ('' none) and the product (refp and
--   refa hold the number's refusals and, under "c:<contact>", the person's).
-- Windows are closed: an attempt (or abandon) exactly one window earlier
-- still counts; the next allowed time is 1 ms after it leaves.
-- Returns {'DUP', record} | {'STALE', current version} | {'OK', verdict}.
local now = tonumber(ARGV[1])
local num, contact, camp = ARGV[2], ARGV[3], ARGV[4]
local reserve, req = ARGV[6] == '1', ARGV[8]
if req ~= '' then
  local prev = redis.call('GET', KEYS[9])
  if prev then return {'DUP', prev} end
end
local cur = redis.call('HGET', KEYS[1], 'current') or '0'
if cur ~= ARGV[5] then return {'STALE', cur} end
local reasons, nb, never = {}, 0, false
if redis.call('SISMEMBER', KEYS[2], num) == 1 then
  reasons[#reasons + 1] = 'DNC_TENANT|tenant|'; never = true
end
if camp ~= '' and redis.call('SISMEMBER', KEYS[3], num) == 1 then
  reasons[#reasons + 1] = 'DNC_CAMPAIGN|campaign:' .. camp .. '|'; never = true
end
-- Whether the number's consent record is valid now with at least `need`.
local function consent_valid(need)
  local c = redis.call('HGET', KEYS[4], num)
  if not c then return false end
  -- "grant|expire|revoke|level"; records of earlier builds have no level
  -- and meet nothing (fail closed: re-record them with their type)
  local g, e, r, l = string.match(c, '^(%d+)|(%d*)|(%d*)|(%d)|?[%d,]*$')
  -- valid from its grant until its expiry or its revocation (a stated time)
  return g ~= nil and tonumber(g) <= now and (e == '' or tonumber(e) > now) and
    (r == '' or tonumber(r) > now) and tonumber(l) >= need
end
local need, why = string.match(ARGV[9], '^(%d+)|(.*)$')
need = tonumber(need or '2')
if need > 0 then
  local ok = consent_valid(need)
  if not ok then
    reasons[#reasons + 1] = 'CONSENT_REQUIRED|' .. why .. '|' ..
      (need >= 2 and 'prior express written consent required' or 'prior express consent required')
    never = true
  end
end
local ntail = 17
for _ = 1, 3 do ntail = ntail + 1 + 3 * tonumber(ARGV[ntail]) end
local function lockout(key, ms, code, rule, what)
  if ms <= 0 then return end
  local at = redis.call('GET', key)
  if at and tonumber(at) + ms >= now then
    reasons[#reasons + 1] = code .. '|' .. rule .. '|' .. what .. ' at ' .. at
    nb = math.max(nb, tonumber(at) + ms + 1)
  end
end
lockout(KEYS[5], tonumber(ARGV[10]), 'ABANDON_QUIET_PERIOD', ARGV[ntail + 2], 'abandoned')
lockout(KEYS[11], tonumber(ARGV[ntail]), 'MACHINE_LOCKOUT', ARGV[ntail + 1], 'answering machine')
local keep = tonumber(ARGV[11])
local function caps(key, idx, code)
  local n = tonumber(ARGV[idx])
  if n == 0 or key == nil then return idx + 1 + 3 * n end
  if reserve then redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. (now - keep)) end
  for i = 0, n - 1 do
    local id, max, w = ARGV[idx + 1 + 3 * i], tonumber(ARGV[idx + 2 + 3 * i]), tonumber(ARGV[idx + 3 + 3 * i])
    local cnt = redis.call('ZCOUNT', key, now - w, now)
    if cnt >= max then
      local r = redis.call('ZRANGEBYSCORE', key, now - w, now, 'WITHSCORES', 'LIMIT', cnt - max, 1)
      reasons[#reasons + 1] = code .. '|' .. id .. '|' .. cnt .. ' attempts of ' .. max .. ' allowed'
      nb = math.max(nb, tonumber(r[2]) + w + 1)
    end
  end
  return idx + 1 + 3 * n
end
local debt = ARGV[ntail + 3] or ''
local cidx = caps(KEYS[6], 17, 'ATTEMPT_CAP_NUMBER')
local didx = caps(contact ~= '' and KEYS[7] or nil, cidx, 'ATTEMPT_CAP_CONTACT')
caps(debt ~= '' and KEYS[10] or nil, didx, 'ATTEMPT_CAP_DEBT')
local csteps = tonumber(ARGV[ntail + 5] or '0')
if debt ~= '' and csteps > 0 then
  local base = ntail + 6
  local last = redis.call('ZREVRANGEBYSCORE', KEYS[12], now, ARGV[base], 'WITHSCORES', 'LIMIT', 0, 1)
  if #last > 0 then
    local at, untilms = tonumber(last[2]), 0
    for i = 0, csteps - 1 do
      if tonumber(ARGV[base + 2 * i]) <= at then untilms = tonumber(ARGV[base + 2 * i + 1]) end
    end
    if untilms > now then
      reasons[#reasons + 1] = 'REG_F_CONVERSATION_LOCKOUT|' .. ARGV[ntail + 4] ..
        '|conversation about the debt at ' .. at
      nb = math.max(nb, untilms)
    end
  end
end
-- Information for the audit: lifted listings ('E:<registry>:<rule>') and
-- waived calling hours ('W:<waiver rows>').
local info = {}
local t = ntail + 6 + 2 * csteps
local nlift = tonumber(ARGV[t] or '0')
t = t + 1
if nlift > 0 then
  local endms = redis.call('HGET', KEYS[14], num)
  local endday = endms and math.floor((tonumber(endms) + 50400000) / 86400000) or nil
  local rel = redis.call('HMGET', KEYS[13], num .. '|T', num .. '|I')
  local function counts(v, rule, min, max)
    if not v or rule == '' or min < 0 then return false end
    local day = tonumber(v)
    return day >= min and day <= max and (endday == nil or day > endday)
  end
  for i = 0, nlift - 1 do
    local b = t + 8 * i
    local reg, max = ARGV[b], tonumber(ARGV[b + 5])
    local lifted = nil
    if counts(rel[1], ARGV[b + 1], tonumber(ARGV[b + 2]), max) then
      lifted = ARGV[b + 1]
    elseif counts(rel[2], ARGV[b + 3], tonumber(ARGV[b + 4]), max) then
      lifted = ARGV[b + 3]
    elseif ARGV[b + 6] ~= '' and consent_valid(tonumber(ARGV[b + 7])) then
      lifted = ARGV[b + 6]
    end
    if lifted then
      info[#info + 1] = 'E:' .. reg .. ':' .. lifted
    else
      reasons[#reasons + 1] = 'DNC_REGISTRY|' .. reg .. '|'
      never = true
    end
  end
  t = t + 8 * nlift
end
local wreasons, wnb, wscope, wrules = ARGV[t] or '', tonumber(ARGV[t + 1] or '-1'), ARGV[t + 2] or '', ARGV[t + 3] or ''
t = t + 4
if wreasons ~= '' then
  local ok = false
  local c = redis.call('HGET', KEYS[4], num)
  if c then
    local g, e, r, sc = string.match(c, '^(%d+)|(%d*)|(%d*)|%d|?([%d,]*)$')
    ok = g ~= nil and tonumber(g) <= now and (e == '' or tonumber(e) > now) and
      (r == '' or tonumber(r) > now) and string.find(sc, ',' .. wscope .. ',', 1, true) ~= nil
  end
  if ok then
    info[#info + 1] = 'W:' .. wrules
  else
    for w in string.gmatch(wreasons, '[^\31]+') do reasons[#reasons + 1] = w end
    if wnb < 0 then never = true else nb = math.max(nb, wnb) end
  end
end
local rrule, product = ARGV[t] or '', ARGV[t + 1] or ''
if rrule ~= '' then
  -- The number's refusals and, for a dial naming a contact, the person's
  -- ("c:<contact>", whatever number is dialed).
  local times
  if product == '' then
    times = {redis.call('HGET', KEYS[16], num)}
    if contact ~= '' then times[2] = redis.call('HGET', KEYS[16], 'c:' .. contact) end
  else
    times = redis.call('HMGET', KEYS[15], num .. '|', num .. '|' .. product)
    if contact ~= '' then
      local ct = redis.call('HMGET', KEYS[15], 'c:' .. contact .. '|',
        'c:' .. contact .. '|' .. product)
      times[3], times[4] = ct[1], ct[2]
    end
  end
  local at = nil
  for i = 1, #times do
    if times[i] and tonumber(times[i]) <= now and (at == nil or tonumber(times[i]) < at) then
      at = tonumber(times[i])
    end
  end
  if at then
    reasons[#reasons + 1] = 'SOLICITATION_REFUSED|' .. rrule .. '|refused at ' .. at
    never = true
  end
end
local allowed = #reasons == 0 and ARGV[13] == '1'
if allowed and reserve then
  local ttl = math.max(keep, 86400000)
  redis.call('ZADD', KEYS[6], now, ARGV[7])
  redis.call('PEXPIRE', KEYS[6], ttl)
  if contact ~= '' then
    redis.call('ZADD', KEYS[7], now, ARGV[7])
    redis.call('PEXPIRE', KEYS[7], ttl)
  end
  if debt ~= '' then
    redis.call('ZADD', KEYS[10], now, ARGV[7])
    redis.call('PEXPIRE', KEYS[10], ttl)
  end
end
local verdict = (allowed and '1' or '0') .. '\t' .. (never and '-1' or tostring(nb)) .. '\t' ..
  table.concat(reasons, '\31') .. '\t' .. table.concat(info, '\31')
local rec = frame('D', ARGV[14]) .. verdict
-- audited at the time it was taken (a scrub may evaluate a future dial time)
audit(KEYS[8], tonumber(ARGV[16]), rec, tonumber(ARGV[12]))
outbox(frame('D', ARGV[15]) .. verdict)
if req ~= '' then redis.call('SET', KEYS[9], rec, 'PX', 86400000) end
return {'OK', verdict}
