-- Gives up this relay's hold on an outbox. KEYS[1] hold key, ARGV[1] instance.
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
