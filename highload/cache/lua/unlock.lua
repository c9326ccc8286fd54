-- Release a single-flight lock only if we still own it (compare-and-delete), then wake the
-- processes waiting for it. A lock that expired and was taken by another owner is left alone.
-- KEYS[1] lock; ARGV[1] owner token; ARGV[2] channel the waiters listen on
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], ARGV[1])
  return 1
end
return 0
