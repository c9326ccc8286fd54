-- Write-back: after a flush, unmark each key whose buffered value is still the one flushed.
-- A key written again during the flush stays dirty for the next one.
-- KEYS[1] data hash, KEYS[2] dirty set; ARGV: key1, value1, key2, value2, ...
local cleaned = 0
for i = 1, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then
    cleaned = cleaned + redis.call('SREM', KEYS[2], ARGV[i])
  end
end
return cleaned
