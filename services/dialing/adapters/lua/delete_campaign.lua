-- Deletes a campaign if its etag is unchanged since the caller read it.
-- KEYS[1] campaign hash, KEYS[2] the tenant's campaign index, KEYS[3] outbox.
-- ARGV[1] expected etag, ARGV[2] campaign id, then the event records.
-- Returns 'OK', 'NOT_FOUND' or 'ETAG_MISMATCH'.
if redis.call('EXISTS', KEYS[1]) == 0 then return 'NOT_FOUND' end
if redis.call('HGET', KEYS[1], 'etag') ~= ARGV[1] then return 'ETAG_MISMATCH' end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
for i = 3, #ARGV do outbox(ARGV[i]) end
return 'OK'
