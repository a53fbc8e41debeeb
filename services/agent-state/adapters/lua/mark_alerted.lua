-- Records that an alert about one status of an agent was raised, with its
-- event, once: a second replica's sweep finds the mark and raises nothing.
-- KEYS[1] the mark, KEYS[2] outbox (EvalWithEvents). ARGV: the event records.
-- Returns 'OK' or 'ALREADY'.
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', 86400) == false then return 'ALREADY' end
for i = 1, #ARGV do outbox(ARGV[i]) end
return 'OK'
