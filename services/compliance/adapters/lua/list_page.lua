-- One page of a tenant's do-not-call list or consents, in number order.
-- KEYS (all {t:<tenant>}:...): 1 the listing index (dncx[:<campaign>] or
--   consx), 2 the hash it indexes (dncm[:<campaign>] or consp)
-- ARGV: 1 the last number of the previous page ('' for the first page),
--   2 how many
-- Returns {number, record, number, record, ...}; a number whose record is
-- gone is skipped.
ensure_index(KEYS[1], KEYS[2])
local from = ARGV[1] == '' and '-' or ('(' .. ARGV[1])
local numbers = redis.call('ZRANGE', KEYS[1], from, '+', 'BYLEX', 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
if #numbers == 0 then return out end
local records = redis.call('HMGET', KEYS[2], unpack(numbers))
for i = 1, #numbers do
  if records[i] then
    out[#out + 1] = numbers[i]
    out[#out + 1] = records[i]
  end
end
return out
