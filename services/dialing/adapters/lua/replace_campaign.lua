-- Replaces a campaign if its etag is unchanged since the caller read it.
-- KEYS[1] campaign hash, KEYS[2] outbox. ARGV[1] expected etag, ARGV[2]
-- definition, ARGV[3] new etag, then the event records.
-- Returns 'OK', 'NOT_FOUND' or 'ETAG_MISMATCH'.
if redis.call('EXISTS', KEYS[1]) == 0 then return 'NOT_FOUND' end
if redis.call('HGET', KEYS[1], 'etag') ~= ARGV[1] then return 'ETAG_MISMATCH' end
redis.call('HSET', KEYS[1], 'def', ARGV[2], 'etag', ARGV[3])
for i = 4, #ARGV do outbox(ARGV[i]) end
return 'OK'
