-- Ends a recording's upload: what was stored, the storage chain entry, the
-- usage correction and events; with a reason, the recording becomes
-- INCOMPLETE (an open pause is closed first).
-- KEYS[1] chain list, KEYS[2] chain head, KEYS[3] recording hash, KEYS[4]
-- gaps list, KEYS[5] usage counter, KEYS[6] open uploads, KEYS[7] outbox.
-- ARGV[1..4] chain entry (chain.lua; ARGV[2] '' for none), ARGV[5] upload
-- result ('done' or 'failed'), ARGV[6] incomplete reason ('' for none),
-- ARGV[7] now (ms), ARGV[8] audio bytes, ARGV[9] stored bytes, ARGV[10]
-- segments, ARGV[11] sha256, ARGV[12] file sha256, ARGV[13] usage delta,
-- ARGV[14] the upload state expected ('open', or 'salvaging' for the
-- sweep), ARGV[15] id, ARGV[16] audio bytes lost (received, not stored),
-- then the event records. Returns 'ok', 'gone', 'closed' (not in the
-- expected upload state: nothing written) or 'moved'.
local f0 = redis.call('HMGET', KEYS[3], 'state', 'upload')
local st = f0[1]
if not st then return 'gone' end
if f0[2] ~= ARGV[14] then return 'closed' end
if not chain_ok() then return 'moved' end
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
for i = 17, #ARGV do outbox(ARGV[i]) end
return 'ok'
