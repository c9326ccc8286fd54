-- Sliding window log: a = limit, b = window. A list of admitted times, oldest first.
-- A request at t counts for times in (t - window, t]; a clock that steps back stands still.
ALGORITHMS.sliding_window_log = function(key, now, cost, limit, window)
  local newest = tonumber(redis.call('LINDEX', key, -1))
  if newest then
    if newest > now then now = newest end
    if newest + window <= now then
      redis.call('DEL', key)
    else
      while tonumber(redis.call('LINDEX', key, 0)) + window <= now do
        redis.call('LPOP', key)
      end
    end
  end
  local count = redis.call('LLEN', key)
  local n = math.ceil(cost)
  local fits = count + cost <= limit
  local function commit(take, brief)
    if take then
      local stamps = {}
      for i = 1, n do stamps[i] = now end
      redis.call('RPUSH', key, unpack(stamps))
      count = count + n
      newest = now
    end
    local reset = 0
    if count > 0 then
      reset = newest + window - now
      expire_after(key, reset)
    end
    if brief then return end
    local retry = 0
    if fits then
      retry = 0
    elseif cost > limit then
      retry = math.huge
    else
      retry = tonumber(redis.call('LINDEX', key, count + n - limit - 1)) + window - now
    end
    return math.max(0, limit - count), retry, reset
  end
  return fits, commit
end
