-- Applies one event's plan to a tenant's report counters, once per event id.
-- KEYS[1] <base>:seen:<event id>   the dedup mark (all keys share the
--                                   tenant's hash tag, in <base>)
-- ARGV[1] base "<prefix>:{t:<tenant>}"   ARGV[2] dedup/marker TTL ms
-- ARGV[3] bucket TTL ms                  ARGV[4] kind: add | agent | config
-- add:    ARGV[5] marker mode ('' | once | replace), ARGV[6] marker,
--         ARGV[7] hour, then field, delta pairs
-- agent:  ARGV[5] agent, ARGV[6] version, ARGV[7] state, ARGV[8] reason,
--         ARGV[9] state time ms, ARGV[10] campaign ('' none)
-- config: ARGV[5] record key suffix, ARGV[6] version, ARGV[7] index set
--         ('' none), ARGV[8] index member, then field, value pairs
-- Returns 0 duplicate event id, 1 applied, 2 repeat (marker counted before,
-- stale status or settings).
-- The bucket, marker and record keys are built here from the base: they are
-- all in the tenant's slot (its hash tag), as Redis Cluster requires.
local base = ARGV[1]
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], '1', 'PX', ARGV[2])
local bttl = ARGV[3]

local function bump(hour, field, delta)
  if delta == 0 then return end
  hour = tonumber(hour)
  local hk = base .. ':h:' .. hour
  local dk = base .. ':d:' .. math.floor(hour / 24)
  redis.call('HINCRBY', hk, field, delta)
  redis.call('HINCRBY', dk, field, delta)
  redis.call('PEXPIRE', hk, bttl)
  redis.call('PEXPIRE', dk, bttl)
  if field == 'u:rec_bytes_stored' or field == 'u:rec_bytes_deleted' then
    local net = base .. ':rec-net'
    if field == 'u:rec_bytes_deleted' then delta = -delta end
    redis.call('HINCRBY', net, hour, delta)
    redis.call('PEXPIRE', net, bttl)
  end
end

local kind = ARGV[4]
if kind == 'add' then
  local mode, mk, hour = ARGV[5], base .. ':m:' .. ARGV[6], ARGV[7]
  if mode == 'once' and redis.call('EXISTS', mk) == 1 then return 2 end
  if mode == 'replace' then
    local old = redis.call('GET', mk)
    if old then
      local parts = {}
      for p in string.gmatch(old, '[^\t]+') do parts[#parts + 1] = p end
      for i = 2, #parts - 1, 2 do bump(parts[1], parts[i], -tonumber(parts[i + 1])) end
    end
  end
  local enc = {hour}
  for i = 8, #ARGV - 1, 2 do
    bump(hour, ARGV[i], tonumber(ARGV[i + 1]))
    enc[#enc + 1] = ARGV[i]
    enc[#enc + 1] = ARGV[i + 1]
  end
  if mode ~= '' then redis.call('SET', mk, table.concat(enc, '\t'), 'PX', ARGV[2]) end
  return 1
end

if kind == 'agent' then
  local agent = ARGV[5]
  local ak = base .. ':as:' .. agent
  local last = redis.call('HMGET', ak, 'v', 's', 'r', 't', 'c')
  if last[1] and tonumber(ARGV[6]) <= tonumber(last[1]) then return 2 end
  local to, new_state = tonumber(ARGV[9]), ARGV[7]
  if last[2] and last[2] ~= 'LOGGED_OUT' then
    local from, s, camp = tonumber(last[4]), last[2], last[5] or ''
    -- a reservation is talk when it was confirmed, idle time otherwise
    if s == 'RESERVED' then
      if new_state == 'ON_CALL' then s = 'ON_CALL' else s = 'READY' end
    end
    local afield, cfield
    if s == 'READY' then afield = 'ready_ms'
    elseif s == 'NOT_READY' then afield = 'nr_ms:' .. (last[3] or '')
    elseif s == 'ON_CALL' then afield = 'talk_ms'
    elseif s == 'WRAP_UP' then
      afield = 'wrap_ms'
      if camp ~= '' then cfield = 'c:' .. camp .. ':wrap_ms' end
    end
    if afield and to > from then
      local t = from
      while t < to do  -- split at every UTC hour
        local h = math.floor(t / 3600000)
        local nxt = math.min(to, (h + 1) * 3600000)
        bump(h, 'a:' .. agent .. ':' .. afield, nxt - t)
        if cfield then bump(h, cfield, nxt - t) end
        t = nxt
      end
    end
    if last[2] == 'ON_CALL' and new_state ~= 'ON_CALL' then
      bump(math.floor(to / 3600000), 'a:' .. agent .. ':calls', 1)
    end
  end
  redis.call('HSET', ak, 'v', ARGV[6], 's', new_state, 'r', ARGV[8], 't', ARGV[9], 'c', ARGV[10])
  redis.call('PEXPIRE', ak, bttl)
  redis.call('SADD', base .. ':agents', agent)
  redis.call('PEXPIRE', base .. ':agents', bttl)
  return 1
end

if kind == 'config' then
  local rk = base .. ':' .. ARGV[5]
  local v = redis.call('HGET', rk, '_v')
  if v and tonumber(ARGV[6]) < tonumber(v) then return 2 end
  redis.call('HSET', rk, '_v', ARGV[6])
  for i = 9, #ARGV - 1, 2 do redis.call('HSET', rk, ARGV[i], ARGV[i + 1]) end
  redis.call('PEXPIRE', rk, bttl)
  if ARGV[7] ~= '' then
    redis.call('SADD', base .. ':' .. ARGV[7], ARGV[8])
    redis.call('PEXPIRE', base .. ':' .. ARGV[7], bttl)
  end
  return 1
end
return redis.error_reply('unknown kind ' .. tostring(kind))
