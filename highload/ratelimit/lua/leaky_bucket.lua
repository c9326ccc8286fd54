-- Leaky bucket (meter): a = capacity, b = leak_rate.
-- Hash fields: v = level, t = last time seen, x = TTL covered until, f = fingerprint
-- of the policy that wrote it (see read_hash).
ALGORITHMS.leaky_bucket = function(key, now, cost, capacity, rate, fp)
  local state = read_hash(key, fp, 'v', 't', 'x', 'f')
  local level = tonumber(state[1]) or 0
  local last = tonumber(state[2]) or now
  if now > last then
    level = math.max(0, level - (now - last) * rate)
    last = now
  end
  local fits = level + cost <= capacity
  local function commit(take, brief)
    if take then level = level + cost end
    local reset = 0
    if level > 0 then
      reset = rate > 0 and level / rate or math.huge
    end
    save_hash(key, fp, reset, now, tonumber(state[3]), 'v', level, 't', last)
    if brief then return end
    local retry = 0
    if fits then
      retry = 0
    elseif cost > capacity or rate == 0 then
      retry = math.huge
    else
      retry = (level + cost - capacity) / rate
    end
    return math.max(0, math.floor(capacity - level + 1e-9)), retry, reset
  end
  return fits, commit
end
