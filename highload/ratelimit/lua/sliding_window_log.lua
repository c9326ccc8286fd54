-- Sliding window log: a = limit, b = window. A list of admitted requests, oldest first; each
-- entry is "time before after": the request's time and the units (ceil(cost)) admitted on this
-- key before and after it. Requests at one instant share an entry. So the log grows with
-- requests, never with costs (one element per unit overflowed Lua's unpack at a cost of 8000),
-- and the units in the window are the newest entry's "after" minus the oldest one's "before":
-- two reads, however long the log. Times only grow along the list, so many expired entries are
-- found by a galloping search and cut with one LTRIM. Each string operation shows in a check's
-- cost, so an entry is split only as far as the fields a read needs.
-- A request at t counts for times in (t - window, t]; a clock that steps back stands still.

-- Totals are exact while they stay integers up to 2^53; past that the log is renumbered.
local SWL_EXACT = 9007199254740992
-- Values per RPUSH when a whole log is rewritten: well below Lua's unpack limit (about 8000).
local SWL_CHUNK = 1000

local function swl_entry(t, before, after)
  return string.format('%.17g %.17g %.17g', t, before, after)  -- as F does, in one call
end

-- An entry's time; nil for no entry (an index past the end).
local function swl_time(entry)
  if not entry then return nil end
  return tonumber(string.sub(entry, 1, string.find(entry, ' ', 1, true) - 1))
end

-- time and before of an entry, for the oldest one (it gives the window's base).
local function swl_head(entry)
  local i = string.find(entry, ' ', 1, true)
  local j = string.find(entry, ' ', i + 1, true)
  return tonumber(string.sub(entry, 1, i - 1)), tonumber(string.sub(entry, i + 1, j - 1))
end

-- time, before, after of an entry; nil for no entry or a bare time.
local function swl_parse(entry)
  if not entry then return nil end
  local i = string.find(entry, ' ', 1, true)
  if not i then return nil end
  local j = string.find(entry, ' ', i + 1, true)
  return tonumber(string.sub(entry, 1, i - 1)), tonumber(string.sub(entry, i + 1, j - 1)),
    tonumber(string.sub(entry, j + 1))
end

-- Replaces the whole log with entries {t, before, after}, in chunks that unpack safely.
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

-- Regroups a log holding bare times, one per unit: the older layout, or units an older
-- process appended to a grouped log during a rolling deploy.
local function swl_upgrade(key)
  local entries, total = {}, 0
  for _, raw in ipairs(redis.call('LRANGE', key, 0, -1)) do
    local t, before, after = swl_parse(raw)
    local units = t and after - before or 1
    t = t or tonumber(raw)
    local last = entries[#entries]
    if last and last[1] == t then
      last[3] = last[3] + units
    else
      entries[#entries + 1] = {t, total, total + units}
    end
    total = total + units
  end
  swl_rewrite(key, entries)
end

-- Subtracts `base` from every total, so totals stay exact on a key that never empties.
local function swl_renumber(key, base)
  local entries = {}
  for i, raw in ipairs(redis.call('LRANGE', key, 0, -1)) do
    local t, before, after = swl_parse(raw)
    entries[i] = {t, before - base, after - base}
  end
  swl_rewrite(key, entries)
end

-- The index of the oldest entry still in the window (index 0 is expired, the newest is not).
local function swl_first_live(key, now, window)
  local lo, hi, step = 0, 1, 1
  local t = swl_time(redis.call('LINDEX', key, hi))
  -- Gallop, then bisect: O(log k) reads for k expired entries.
  while t and t + window <= now do
    lo, step = hi, step * 2
    hi = lo + step
    t = swl_time(redis.call('LINDEX', key, hi))
  end
  -- Past the end reads as live: the newest entry is live, so the search still ends inside the list.
  while hi - lo > 1 do
    local mid = math.floor((lo + hi) / 2)
    local mt = swl_time(redis.call('LINDEX', key, mid))
    if mt and mt + window <= now then
      lo = mid
    else
      hi = mid
    end
  end
  return hi
end

-- The time of the entry holding the `units`-th unit of the window, counted from the oldest.
local function swl_time_of_unit(key, base, units)
  local lo, hi = -1, redis.call('LLEN', key) - 1
  while hi - lo > 1 do
    local mid = math.floor((lo + hi) / 2)
    local _, _, after = swl_parse(redis.call('LINDEX', key, mid))
    if after - base >= units then
      hi = mid
    else
      lo = mid
    end
  end
  return swl_time(redis.call('LINDEX', key, hi))
end

-- Another algorithm's state (a hash) under this name is reset, as read_hash does; the log holds
-- no fingerprint, so a log written with other parameters under an explicit name is read as is
-- (its entries are times and units: only the window they are counted over differs).
ALGORITHMS.sliding_window_log = function(key, now, cost, limit, window, fp)
  local raw = redis.pcall('LINDEX', key, -1)
  if type(raw) == 'table' and raw.err then
    if redis.call('TYPE', key).ok ~= 'hash' then error(raw) end  -- not a limiter's state: a bug
    reset_key(key)
    raw = false
  end
  local newest, total  -- the newest entry's time and after; nil for no log
  if raw then
    local i = string.find(raw, ' ', 1, true)
    if not i then
      swl_upgrade(key)
      raw = redis.call('LINDEX', key, -1)
      i = string.find(raw, ' ', 1, true)
    end
    newest = tonumber(string.sub(raw, 1, i - 1))
    total = tonumber(string.sub(raw, string.find(raw, ' ', i + 1, true) + 1))
  end
  local base, count = 0, 0  -- base: the units admitted before the oldest entry in the window
  if newest then
    if newest > now then now = newest end
    if newest + window <= now then
      redis.call('DEL', key)
      newest, total = nil, nil
    else
      -- Steady traffic expires about one entry per check: pop a few (LPOP is cheaper than
      -- LTRIM), then search and cut the rest at once. The newest entry is live, so this stops.
      local t, pops = nil, 0
      t, base = swl_head(redis.call('LINDEX', key, 0))
      while t + window <= now do
        if pops == 4 then
          redis.call('LTRIM', key, swl_first_live(key, now, window), -1)
          t, base = swl_head(redis.call('LINDEX', key, 0))
          break
        end
        redis.call('LPOP', key)
        pops = pops + 1
        t, base = swl_head(redis.call('LINDEX', key, 0))
      end
      count = total - base
    end
  end
  local units = math.ceil(cost)
  local fits = count + cost <= limit
  local function commit(take, brief)
    if take then
      if newest and base > 0 and total + units > SWL_EXACT then
        swl_renumber(key, base)
        total, base = total - base, 0
      end
      if newest == now then
        local _, before = swl_head(redis.call('LINDEX', key, -1))  -- rare: requests at one instant
        total = total + units
        redis.call('LSET', key, -1, swl_entry(now, before, total))
      else
        local before = total or 0
        total, newest = before + units, now
        redis.call('RPUSH', key, swl_entry(now, before, total))
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
