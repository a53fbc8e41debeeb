-- Replaces a scope's agent settings if their etag is unchanged since the
-- caller read them ("" when there were none).
-- KEYS[1] settings hash, KEYS[2] outbox. ARGV[1] expected etag, ARGV[2]
-- definition, ARGV[3] new etag, then the event records.
-- Returns 'OK' or 'ETAG_MISMATCH'.
if (redis.call('HGET', KEYS[1], 'etag') or '') ~= ARGV[1] then return 'ETAG_MISMATCH' end
redis.call('HSET', KEYS[1], 'def', ARGV[2], 'etag', ARGV[3])
for i = 4, #ARGV do outbox(ARGV[i]) end
return 'OK'
