-- Token bucket: a = capacity, b = refill_rate.
-- Hash fields: v = tokens, t = last time seen, x = TTL covered until, f = fingerprint
-- of the policy that wrote it (see read_hash).
ALGORITHMS.token_bucket = function(key, now, cost, capacity, rate, fp)
  local state = read_hash(key, fp, 'v', 't', 'x', 'f')
  local tokens = tonumber(state[1]) or capacity
  local last = tonumber(state[2]) or now
  if now > last then
    tokens = math.min(capacity, tokens + (now - last) * rate)
    last = now
  end
  local fits = cost <= tokens
  local function commit(take, brief)
    if take then tokens = tokens - cost end
    local reset = 0
    if capacity - tokens > 0 then
      reset = rate > 0 and (capacity - tokens) / rate or math.huge
    end
    save_hash(key, fp, reset, now, tonumber(state[3]), 'v', tokens, 't', last)
    if brief then return end
    local retry = 0
    if fits then
      retry = 0
    elseif cost > capacity or rate == 0 then
      retry = math.huge
    else
      retry = (cost - tokens) / rate
    end
    return math.max(0, math.floor(tokens + 1e-9)), retry, reset
  end
  return fits, commit
end
