-- Fixed window: a = limit, b = window. Hash fields: s = window start, c = count, x = TTL covered until, f = fingerprint
-- of the policy that wrote it (see read_hash).
ALGORITHMS.fixed_window = function(key, now, cost, limit, window, fp)
  local state = read_hash(key, fp, 's', 'c', 'x', 'f')
  local start_now = math.floor(now / window) * window
  local start = tonumber(state[1]) or start_now
  local count = tonumber(state[2]) or 0
  if start_now > start then
    start, count = start_now, 0
  end
  local fits = count + cost <= limit
  local function commit(take, brief)
    if take then count = count + cost end
    local reset = count > 0 and (start + window - now) or 0
    save_hash(key, fp, reset, now, tonumber(state[3]), 's', start, 'c', count)
    if brief then return end
    local retry = 0
    if fits then
      retry = 0
    elseif cost > limit then
      retry = math.huge
    else
      retry = start + window - now
    end
    return math.max(0, math.floor(limit - count + 1e-9)), retry, reset
  end
  return fits, commit
end
