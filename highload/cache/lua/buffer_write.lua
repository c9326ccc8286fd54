-- Write-back: buffer a value and mark its key dirty; reply with the number of dirty keys.
-- KEYS[1] data hash, KEYS[2] dirty set; ARGV[1] key, ARGV[2] encoded value
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
return redis.call('SCARD', KEYS[2])
