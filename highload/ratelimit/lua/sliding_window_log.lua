-- Sliding window log: a = limit, b = window. A list of admitted requests, oldest first; each
-- entry is "time units total": the request's time, its cost in whole units (ceil(cost)), and
-- the units admitted on this key up to and including it. Requests at one instant share an entry.
-- So the log grows with requests, never with costs (one element per unit overflowed Lua's
-- unpack at a cost of 8000), and the units in the window are the newest total minus the total
-- before the oldest entry: two reads, however long the log. Times only grow along the list, so
-- expired entries are found by a galloping search and cut with one LTRIM.
-- A request at t counts for times in (t - window, t]; a clock that steps back stands still.

-- Totals are exact while they stay integers below 2^53; past that the log is renumbered.
local SWL_EXACT = 9007199254740992
-- Values per RPUSH when a whole log is rewritten: well below Lua's unpack limit (about 8000).
local SWL_CHUNK = 1000

local function swl_parse(entry)
  if not entry then return nil end
  local t, n, c = string.match(entry, '^(%S+) (%S+) (%S+)$')
  return tonumber(t), tonumber(n), tonumber(c)
end

local function swl_at(key, i)
  return swl_parse(redis.call('LINDEX', key, i))
end

local function swl_entry(t, n, c)
  return F(t) .. ' ' .. F(n) .. ' ' .. F(c)
end

-- Replaces the whole log with entries {t, n, c}, in chunks so no call unpacks too many values.
local function swl_rewrite(key, entries)
  redis.call('DEL', key)
  for first = 1, #entries, SWL_CHUNK do
    local chunk = {}
    for i = first, math.min(first + SWL_CHUNK - 1, #entries) do
      local e = entries[i]
      chunk[#chunk + 1] = swl_entry(e[1], e[2], e[3])
    end
    redis.call('RPUSH', key, unpack(chunk))
  end
end

-- A log written before entries were grouped holds one bare time per unit: group it once. During
-- a rolling deploy an older process may append bare times to a grouped log, so take both forms.
local function swl_upgrade(key)
  local entries, total = {}, 0
  for _, raw in ipairs(redis.call('LRANGE', key, 0, -1)) do
    local t, n = swl_parse(raw)
    if not t then t, n = tonumber(raw), 1 end
    total = total + n
    local last = entries[#entries]
    if last and last[1] == t then
      last[2], last[3] = last[2] + n, total
    else
      entries[#entries + 1] = {t, n, total}
    end
  end
  swl_rewrite(key, entries)
end

-- Subtracts `base` from every total, so totals stay exact on a key that never empties.
local function swl_renumber(key, base)
  local entries = {}
  for i, raw in ipairs(redis.call('LRANGE', key, 0, -1)) do
    local t, n, c = swl_parse(raw)
    entries[i] = {t, n, c - base}
  end
  swl_rewrite(key, entries)
end

-- The index of the oldest entry still in the window (index 0 is expired, the newest is not).
local function swl_first_live(key, now, window)
  local lo, hi, step = 0, 1, 1
  local t, n, c = swl_at(key, hi)
  -- Gallop: usually the very next entry is live, so the common case costs one read.
  while t and t + window <= now do
    lo, step = hi, step * 2
    hi = lo + step
    t, n, c = swl_at(key, hi)
  end
  -- Past the end reads as live: the newest entry is live, so the search still ends inside the list.
  while hi - lo > 1 do
    local mid = math.floor((lo + hi) / 2)
    local mt, mn, mc = swl_at(key, mid)
    if mt and mt + window <= now then
      lo = mid
    else
      hi, t, n, c = mid, mt, mn, mc
    end
  end
  return hi, t, n, c
end

-- The time of the entry holding the `units`-th unit of the window (counted from the oldest).
local function swl_time_of_unit(key, base, units)
  local lo, hi = -1, redis.call('LLEN', key) - 1
  local at = swl_at(key, hi)
  while hi - lo > 1 do
    local mid = math.floor((lo + hi) / 2)
    local t, _, c = swl_at(key, mid)
    if c - base >= units then
      hi, at = mid, t
    else
      lo = mid
    end
  end
  return at
end

ALGORITHMS.sliding_window_log = function(key, now, cost, limit, window)
  local raw = redis.call('LINDEX', key, -1)
  if raw and not string.find(raw, ' ', 1, true) then
    swl_upgrade(key)
    raw = redis.call('LINDEX', key, -1)
  end
  local newest, newest_n, total = swl_parse(raw)
  local base, count = 0, 0  -- base: the total before the oldest entry in the window
  if newest then
    if newest > now then now = newest end
    if newest + window <= now then
      redis.call('DEL', key)
      newest, newest_n, total = nil, nil, nil
    else
      local t, n, c = swl_at(key, 0)
      if t + window <= now then
        local first
        first, t, n, c = swl_first_live(key, now, window)
        redis.call('LTRIM', key, first, -1)
      end
      base = c - n
      count = total - base
    end
  end
  local units = math.ceil(cost)
  local fits = count + cost <= limit
  local function commit(take, brief)
    if take then
      if newest and total + units > SWL_EXACT then
        swl_renumber(key, base)
        total, base = total - base, 0
      end
      total = (total or 0) + units
      if newest == now then
        newest_n = newest_n + units
        redis.call('LSET', key, -1, swl_entry(now, newest_n, total))
      else
        newest, newest_n = now, units
        redis.call('RPUSH', key, swl_entry(now, units, total))
      end
      count = count + units
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
      retry = swl_time_of_unit(key, base, count + units - limit) + window - now
    end
    return math.max(0, limit - count), retry, reset
  end
  return fits, commit
end
