-- Refunds, for check_all on Redis Cluster (see highload/ratelimit/cluster.py): limits whose keys
-- live in different slots are consumed one slot at a time, and when a later slot refuses, the
-- earlier ones get their cost back here. A refund uses the consuming check's own `now`.
-- Every refund errs on one side only: where it cannot tell what the check took (the window it
-- was counted in has moved on, the entry it wrote is not found), it gives nothing back, so a
-- refund may leave a limit tighter than it should be (a spurious denial), never looser.
local REFUNDS = {}

-- Buckets: the same refill (or leak) a check would apply, then the cost back, within bounds.
-- min(capacity, min(capacity, x - c + r) + c) = min(capacity, x + r): exactly as if the check
-- had never taken it, however much refilled in between (and likewise for the leak).
REFUNDS.token_bucket = function(key, now, cost, capacity, rate, fp)
  local state = read_hash(key, fp, 'v', 't', 'x', 'f')
  if not state[1] then return end  -- gone (reset by another policy, or expired): nothing to return
  local tokens, last = tonumber(state[1]), tonumber(state[2])
  if now > last then
    tokens = math.min(capacity, tokens + (now - last) * rate)
    last = now
  end
  redis.call('HSET', key, 'v', math.min(capacity, tokens + cost), 't', last)
end

REFUNDS.leaky_bucket = function(key, now, cost, capacity, rate, fp)
  local state = read_hash(key, fp, 'v', 't', 'x', 'f')
  if not state[1] then return end
  local level, last = tonumber(state[1]), tonumber(state[2])
  if now > last then
    level = math.max(0, level - (now - last) * rate)
    last = now
  end
  redis.call('HSET', key, 'v', math.max(0, level - cost), 't', last)
end

-- Windows: the check counted the cost in the window of max(stored start, start of `now`);
-- while the stored window is still the one `now` falls in, that is the one to take it from.
REFUNDS.fixed_window = function(key, now, cost, limit, window, fp)
  local state = read_hash(key, fp, 's', 'c', 'x', 'f')
  if tonumber(state[1]) == math.floor(now / window) * window then
    redis.call('HSET', key, 'c', math.max(0, tonumber(state[2]) - cost))
  end
end

REFUNDS.sliding_window_counter = function(key, now, cost, limit, window, fp)
  local state = read_hash(key, fp, 's', 'c', 'p', 'l', 'x', 'f')
  if tonumber(state[1]) == math.floor(now / window) * window then
    redis.call('HSET', key, 'c', math.max(0, tonumber(state[2]) - cost))
  end
end

-- The log: take the units out of the entry at `now` (the check's, unless the key's clock had
-- run ahead of ours; then it is an older entry's units, which would expire sooner anyway) and
-- shift the running totals of the entries after it. Usually the entry is the newest.
REFUNDS.sliding_window_log = function(key, now, cost, limit, window, fp)
  -- An entry is "time before after fingerprint" (sliding_window_log.lua); nil for another layout.
  local function parse(entry)
    local i = string.find(entry, ' ', 1, true)
    local j = i and string.find(entry, ' ', i + 1, true)
    local k = j and string.find(entry, ' ', j + 1, true)
    if not k then return nil end
    return tonumber(string.sub(entry, 1, i - 1)), tonumber(string.sub(entry, i + 1, j - 1)),
      tonumber(string.sub(entry, j + 1, k - 1)), string.sub(entry, k + 1)
  end
  local function entry(t, before, after)
    return string.format('%.17g %d %d %s', t, before, after, fp)
  end
  local size = redis.pcall('LLEN', key)
  if type(size) ~= 'number' then return end  -- another policy's hash: not ours to change
  local units, later = math.ceil(cost), {}
  for i = size - 1, 0, -1 do
    local t, before, after, owner = parse(redis.call('LINDEX', key, i))
    -- no entry at `now`, an older layout, or another policy's log: nothing to give back
    if not t or t < now or owner ~= fp then return end
    if t == now then
      local taken = math.min(units, after - before)
      local removed = after - taken <= before
      if removed then
        -- no command removes by index: overwrite with a marker no entry can equal, remove that
        redis.call('LSET', key, i, 'refunded')
        redis.call('LREM', key, 1, 'refunded')
      else
        redis.call('LSET', key, i, entry(t, before, after - taken))
      end
      for _, e in ipairs(later) do
        redis.call('LSET', key, removed and e[1] - 1 or e[1], entry(e[2], e[3] - taken, e[4] - taken))
      end
      return
    end
    later[#later + 1] = {i, t, before, after}
  end
end

-- Gives back `cost` on every key (ARGV[3] = '1'; '0' gives nothing back), then reports each
-- limit as a check that takes nothing would. ARGV: now, cost, give, then (algorithm, a, b,
-- fingerprint) per key. Replies as multi() does, with allowed = 0: {0, then remaining,
-- retry_after, reset_after, fits per key, then reset positions}; if brief, {0, positions...}.
local function settle(brief)
  local now, cost, give = read_now(ARGV[1]), tonumber(ARGV[2]), ARGV[3] == '1'
  local out, resets = {0}, {}
  for i = 1, #KEYS do
    local base = 4 * (i - 1) + 3
    local name, a, b, fp = ARGV[base + 1], tonumber(ARGV[base + 2]), tonumber(ARGV[base + 3]), ARGV[base + 4]
    local before = #RESET
    if give then REFUNDS[name](KEYS[i], now, cost, a, b, fp) end
    if not brief then
      local fits, commit = ALGORITHMS[name](KEYS[i], now, cost, a, b, fp)
      local remaining, retry, reset = commit(false)
      table.insert(out, remaining)
      table.insert(out, F(retry))
      table.insert(out, F(reset))
      table.insert(out, fits and 1 or 0)
    end
    if #RESET > before then resets[#resets + 1] = i end
  end
  if #resets > 0 then out[1] = 2 end
  for _, i in ipairs(resets) do table.insert(out, i) end
  return out
end
