-- Pauses, resumes or stops a recording whose state is still the expected
-- one. A pause opens a gap at the audio taken in so far (pause_* fields);
-- resume and stop close it into the gaps list
-- ("start_ms|end_ms|offset|discarded|by|reason").
-- KEYS[1] recording hash, KEYS[2] gaps list, KEYS[3] outbox.
-- ARGV[1] 'pause', 'resume' or 'stop', ARGV[2] expected state, ARGV[3] now
-- (ms), ARGV[4] actor, ARGV[5] reason, then the event records.
-- Returns 'ok', 'gone' or 'changed'.
local st = redis.call('HGET', KEYS[1], 'state')
if not st then return 'gone' end
if st ~= ARGV[2] then return 'changed' end
local function close_gap()
  local f = redis.call('HMGET', KEYS[1], 'pause_ms', 'pause_off', 'pause_disc', 'pause_by',
                       'pause_reason')
  redis.call('RPUSH', KEYS[2], table.concat({f[1] or '', ARGV[3], f[2] or '0', f[3] or '0',
                                              f[4] or '', f[5] or ''}, '|'))
  redis.call('HDEL', KEYS[1], 'pause_ms', 'pause_off', 'pause_disc', 'pause_by', 'pause_reason')
end
if ARGV[1] == 'pause' then
  local acc = redis.call('HGET', KEYS[1], 'accepted') or '0'
  redis.call('HSET', KEYS[1], 'state', 'paused', 'pause_ms', ARGV[3], 'pause_off', acc,
             'pause_disc', '0', 'pause_by', ARGV[4], 'pause_reason', ARGV[5])
elseif ARGV[1] == 'resume' then
  close_gap()
  redis.call('HSET', KEYS[1], 'state', 'recording')
else
  if st == 'paused' then close_gap() end
  if st ~= 'incomplete' then redis.call('HSET', KEYS[1], 'state', 'stopped') end
  if redis.call('HEXISTS', KEYS[1], 'stop_ms') == 0 then
    redis.call('HSET', KEYS[1], 'stop_ms', ARGV[3])
  end
end
for i = 6, #ARGV do outbox(ARGV[i]) end
return 'ok'
