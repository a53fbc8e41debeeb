-- Removes a deleted recording's metadata once its audio is gone (after
-- begin_delete.lua); idempotent.
-- KEYS[1] recording hash, KEYS[2] gaps list, KEYS[3] the tenant's index,
-- KEYS[4] deleting index. ARGV[1] id, ARGV[2] the tenant's key prefix
-- ("{t:T}"; the contact index key is made from it and the recording's
-- contact, in the same slot). Returns 'ok' or 'live' (not marked deleted:
-- nothing done).
local f = redis.call('HMGET', KEYS[1], 'del_ms', 'create_ms', 'contact')
if redis.call('EXISTS', KEYS[1]) == 1 then
  if not f[1] then return 'live' end
  redis.call('ZREM', KEYS[3], string.format('%013d.', tonumber(f[2] or '0')) .. ARGV[1])
  if f[3] and f[3] ~= '' then
    redis.call('SREM', ARGV[2] .. ':rec-contact:' .. f[3], ARGV[1])
  end
  redis.call('DEL', KEYS[1], KEYS[2])
end
redis.call('ZREM', KEYS[4], ARGV[1])
return 'ok'
