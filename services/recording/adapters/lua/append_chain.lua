-- Appends one entry to the tenant's chain (e.g. an access), with events.
-- KEYS[1] chain list, KEYS[2] chain head, KEYS[3] outbox.
-- ARGV[1..4] the entry (chain.lua), then the event records.
-- Returns 'ok' or 'moved'.
if not chain_ok() then return 'moved' end
chain_push()
for i = 5, #ARGV do outbox(ARGV[i]) end
return 'ok'
