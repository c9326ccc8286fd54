-- Sliding window counter: a = limit, b = window.
-- Hash fields: s = window start, c = current count, p = previous count, l = latest time,
-- x = TTL covered until, f = fingerprint
-- of the policy that wrote it (see read_hash).
ALGORITHMS.sliding_window_counter = function(key, now, cost, limit, window, fp)
  local state = read_hash(key, fp, 's', 'c', 'p', 'l', 'x', 'f')
  local latest = tonumber(state[4]) or now
  if now > latest then latest = now end
  local start_now = math.floor(latest / window) * window
  local start = tonumber(state[1]) or start_now
  local current, previous = tonumber(state[2]) or 0, tonumber(state[3]) or 0
  if start_now > start then
    if start_now - start <= window then previous = current else previous = 0 end
    current, start = 0, start_now
  end
  local function estimate()
    return previous * (1.0 - (latest - start) / window) + current
  end
  local fits = estimate() + cost <= limit
  local function commit(take, brief)
    if take then current = current + cost end
    local reset = 0
    if current > 0 then
      reset = start + 2 * window - latest
    elseif previous > 0 then
      reset = start + window - latest
    end
    save_hash(key, fp, reset, latest, tonumber(state[5]), 's', start, 'c', current, 'p', previous, 'l', latest)
    if brief then return end
    local retry = 0
    if fits then
      retry = 0
    elseif cost > limit then
      retry = math.huge
    else
      local room, at = limit - current - cost, 0
      if room >= 0 and previous > 0 then
        at = start + window * (1.0 - room / previous)
      else
        at = start + window + window * (1.0 - (limit - cost) / current)
      end
      retry = math.max(0, at - latest)
    end
    return math.max(0, math.floor(limit - estimate() + 1e-9)), retry, reset
  end
  return fits, commit
end
