-- Ends a recording's upload: what was stored, the storage chain entry, the
-- usage correction and events; with a reason, the recording becomes
-- INCOMPLETE (an open pause is closed first).
-- KEYS[1] chain list, KEYS[2] chain head, KEYS[3] recording hash, KEYS[4]
-- gaps list, KEYS[5] usage counter, KEYS[6] open uploads, KEYS[7] the usage
-- counters of the day, KEYS[8] the usage totals, KEYS[9] outbox.
-- ARGV[1..4] chain entry (chain.lua; ARGV[2] '' for none), ARGV[5] upload
-- result ('done' or 'failed'), ARGV[6] incomplete reason ('' for none),
-- ARGV[7] now (ms), ARGV[8] audio bytes, ARGV[9] stored bytes, ARGV[10]
-- segments, ARGV[11] sha256, ARGV[12] file sha256, ARGV[13] usage delta,
-- ARGV[14] the upload state expected ('open', or 'salvaging' for the
-- sweep), ARGV[15] id, ARGV[16] audio bytes lost (received, not stored),
-- ARGV[17] the format's bytes per second, then the event records.
-- Usage: 'stored' +1 the first time audio is stored; 'audio_ms' and the
-- bytes at rest change by the new audio's duration and file size minus
-- what the recording had (a resumed upload adds what it brought). Returns 'ok', 'gone', 'closed' (not in the
-- expected upload state: nothing written) or 'moved'.
local f0 = redis.call('HMGET', KEYS[3], 'state', 'upload')
local st = f0[1]
if not st then return 'gone' end
if f0[2] ~= ARGV[14] then return 'closed' end
if not chain_ok() then return 'moved' end
local old = redis.call('HMGET', KEYS[3], 'audio_bytes', 'stored_bytes')
local bps = tonumber(ARGV[17])
local function ms(bytes)
  if bps <= 0 then return 0 end
  return math.floor(bytes * 1000 / bps)
end
local d_ms = ms(tonumber(ARGV[8])) - ms(tonumber(old[1] or '0'))
local d_rest = tonumber(ARGV[9]) - tonumber(old[2] or '0')
if ARGV[5] == 'done' and not old[1] then
  redis.call('HINCRBY', KEYS[7], 'stored', 1)
  redis.call('HINCRBY', KEYS[8], 'stored', 1)
end
if d_ms ~= 0 then
  redis.call('HINCRBY', KEYS[7], 'audio_ms', d_ms)
  redis.call('HINCRBY', KEYS[8], 'audio_ms', d_ms)
end
if d_rest ~= 0 then redis.call('HINCRBY', KEYS[8], 'stored_bytes', d_rest) end
redis.call('HSET', KEYS[3], 'upload', ARGV[5], 'audio_bytes', ARGV[8], 'stored_bytes', ARGV[9],
           'segments', ARGV[10], 'sha256', ARGV[11], 'file_sha256', ARGV[12], 'lost', ARGV[16])
redis.call('ZREM', KEYS[6], ARGV[15])
if ARGV[6] ~= '' then
  if st == 'paused' then
    local f = redis.call('HMGET', KEYS[3], 'pause_ms', 'pause_off', 'pause_disc', 'pause_by',
                         'pause_reason')
    redis.call('RPUSH', KEYS[4], table.concat({f[1] or '', ARGV[7], f[2] or '0', f[3] or '0',
                                                f[4] or '', f[5] or ''}, '|'))
    redis.call('HDEL', KEYS[3], 'pause_ms', 'pause_off', 'pause_disc', 'pause_by', 'pause_reason')
  end
  redis.call('HSET', KEYS[3], 'state', 'incomplete', 'inc_reason', ARGV[6])
end
local delta = tonumber(ARGV[13])
if delta ~= 0 then redis.call('INCRBY', KEYS[5], delta) end
chain_push()
for i = 18, #ARGV do outbox(ARGV[i]) end
return 'ok'
