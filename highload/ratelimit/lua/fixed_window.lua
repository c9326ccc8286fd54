-- Fixed window: a = limit, b = window. Hash fields: s = window start, c = count.
ALGORITHMS.fixed_window = function(key, now, cost, limit, window)
  local state = redis.call('HMGET', key, 's', 'c')
  local start_now = math.floor(now / window) * window
  local start = tonumber(state[1]) or start_now
  local count = tonumber(state[2]) or 0
  if start_now > start then
    start, count = start_now, 0
  end
  local fits = count + cost <= limit
  local function commit(take)
    local retry = 0
    if take then
      count = count + cost
    elseif fits then
      retry = 0
    elseif cost > limit then
      retry = math.huge
    else
      retry = start + window - now
    end
    local reset = count > 0 and (start + window - now) or 0
    redis.call('HSET', key, 's', F(start), 'c', F(count))
    expire_after(key, reset)
    return math.max(0, math.floor(limit - count + 1e-9)), retry, reset
  end
  return fits, commit
end
