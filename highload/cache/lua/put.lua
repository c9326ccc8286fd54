-- A write or an invalidation: new generation (cancels fills in flight), set or delete the
-- entry, and tell near-caches, all atomically.
-- KEYS[1] entry, KEYS[2] generation
-- ARGV[1] new generation (random), ARGV[2] its PX milliseconds,
-- ARGV[3] packed entry ('' = delete), ARGV[4] entry PX milliseconds ('' = no expiry),
-- ARGV[5] invalidation channel ('' = do not publish), ARGV[6] the key name to publish
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
local existed
if ARGV[3] == '' then
  existed = redis.call('DEL', KEYS[1])
elseif ARGV[4] == '' then
  redis.call('SET', KEYS[1], ARGV[3])
  existed = 1
else
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
  existed = 1
end
if ARGV[5] ~= '' then
  redis.call('PUBLISH', ARGV[5], ARGV[6])
end
return existed
