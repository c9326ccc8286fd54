-- Store a loaded entry unless the key was written or invalidated since the load began.
-- KEYS[1] entry, KEYS[2] generation
-- ARGV[1] the generation the loader's lookup saw ('' = none), ARGV[2] packed entry,
-- ARGV[3] PX milliseconds ('' = no expiry)
local generation = redis.call('GET', KEYS[2]) or ''
if generation ~= ARGV[1] then
  return 0
end
if ARGV[3] == '' then
  redis.call('SET', KEYS[1], ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return 1
