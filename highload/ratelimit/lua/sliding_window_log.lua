-- Sliding window log: a = limit, b = window. A list of admitted requests, oldest first; each
-- entry is "time before after fingerprint": the request's time, the units (ceil(cost)) admitted
-- on this key before and after it, and the fingerprint of the policy that wrote it (as a hash
-- state's field f). Requests at one instant share an entry. So the log grows with requests,
-- never with costs (one element per unit overflowed Lua's unpack at a cost of 8000), and the
-- units in the window are the newest entry's "after" minus the oldest one's "before": two reads,
-- however long the log. Times only grow along the list, so many expired entries are found by a
-- galloping search and cut with one LTRIM.
-- A request at t counts for times in (t - window, t]; a clock that steps back stands still.
--
-- Cost: a script's whole body runs on every EVALSHA, so every function defined at its top level
-- is a closure built per call, and every string a check cuts out of an entry is a new Lua string.
-- So the helpers live inside the algorithm (check_all's script carries every algorithm, and a
-- check over token buckets builds none of them), the hot path uses three small ones and reads
-- each entry only as far as it needs, and the slow paths (a long expiry, the retry time,
-- renumbering, an older layout) sit inside swl_slow(), built only by a check that needs one.

-- Totals are exact while they stay integers up to 2^53; past that the log is renumbered.
local SWL_EXACT = 9007199254740992

-- State another policy wrote under this name is reset, as read_hash does: a hash (another
-- algorithm), or a log whose newest entry has another fingerprint or none (other parameters, or
-- a process of this release's development before logs held one).
ALGORITHMS.sliding_window_log = function(key, now, cost, limit, window, fp)
  -- Units are integers below 2^63, so %d writes them exactly, and faster than %.17g.
  local function swl_entry(t, before, after, fp)
    return string.format('%.17g %d %d %s', t, before, after, fp)
  end

  -- An entry's time; nil for no entry (an index past the end).
  local function swl_time(entry)
    if not entry then return nil end
    return tonumber(string.sub(entry, 1, string.find(entry, ' ', 1, true) - 1))
  end

  -- An entry's "before" (for the oldest one: it gives the window's base).
  local function swl_before(entry)
    local i = string.find(entry, ' ', 1, true)
    return tonumber(string.sub(entry, i + 1, string.find(entry, ' ', i + 1, true) - 1))
  end

  local function swl_slow()
    local S = {}

    -- time, before, after and fingerprint of an entry; nil for no entry or a bare time.
    function S.parse(entry)
      if not entry then return nil end
      local i = string.find(entry, ' ', 1, true)
      if not i then return nil end
      local j = string.find(entry, ' ', i + 1, true)
      local k = string.find(entry, ' ', j + 1, true)
      return tonumber(string.sub(entry, 1, i - 1)), tonumber(string.sub(entry, i + 1, j - 1)),
        tonumber(string.sub(entry, j + 1, (k or 0) - 1)), k and string.sub(entry, k + 1)
    end

    -- Replaces the whole log with entries {t, before, after}, in chunks that unpack safely
    -- (Lua's unpack stops at about 8000 values).
    function S.rewrite(key, entries, fp)
      redis.call('DEL', key)
      for first = 1, #entries, 1000 do
        local chunk = {}
        for i = first, math.min(first + 999, #entries) do
          local e = entries[i]
          chunk[#chunk + 1] = swl_entry(e[1], e[2], e[3], fp)
        end
        redis.call('RPUSH', key, unpack(chunk))
      end
    end

    -- Regroups a log holding bare times, one per unit, as earlier releases wrote it (also units
    -- an older process appended to this policy's log during a rolling deploy). False, touching
    -- nothing, when a grouped entry in it is not this policy's: that log is another policy's.
    function S.upgrade(key, fp)
      local entries, total = {}, 0
      for _, raw in ipairs(redis.call('LRANGE', key, 0, -1)) do
        local t, before, after, f = S.parse(raw)
        if t and f ~= fp then return false end
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
      S.rewrite(key, entries, fp)
      return true
    end

    -- Subtracts `base` from every total, so totals stay exact on a key that never empties.
    function S.renumber(key, base, fp)
      local entries = {}
      for i, raw in ipairs(redis.call('LRANGE', key, 0, -1)) do
        local t, before, after = S.parse(raw)
        entries[i] = {t, before - base, after - base}
      end
      S.rewrite(key, entries, fp)
    end

    -- The index of the oldest entry still in the window (index 0 is expired, the newest is not).
    function S.first_live(key, now, window)
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
    function S.time_of_unit(key, base, units)
      local lo, hi = -1, redis.call('LLEN', key) - 1
      while hi - lo > 1 do
        local mid = math.floor((lo + hi) / 2)
        local _, _, after = S.parse(redis.call('LINDEX', key, mid))
        if after - base >= units then
          hi = mid
        else
          lo = mid
        end
      end
      return swl_time(redis.call('LINDEX', key, hi))
    end

    return S
  end

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
      if swl_slow().upgrade(key, fp) then
        raw = redis.call('LINDEX', key, -1)
        i = string.find(raw, ' ', 1, true)
      else
        reset_key(key)
        raw = false
      end
    end
    if raw then
      local j = string.find(raw, ' ', i + 1, true)
      local k = string.find(raw, ' ', j + 1, true)
      if k and string.sub(raw, k + 1) == fp then
        newest = tonumber(string.sub(raw, 1, i - 1))
        total = tonumber(string.sub(raw, j + 1, k - 1))
      else
        reset_key(key)
      end
    end
  end
  local base, count = 0, 0  -- base: the units admitted before the oldest entry in the window
  if newest then
    if newest > now then now = newest end
    if newest + window <= now then
      redis.call('DEL', key)
      newest, total = nil, nil
    else
      -- Steady traffic expires about one entry per check. The two oldest entries come in one
      -- read, so popping one costs no second read; after a few pops the rest are found by a
      -- search and cut at once. The newest entry is live, so this stops inside the list.
      local pair = redis.call('LRANGE', key, 0, 1)
      local head, after_head, pops = pair[1], pair[2], 0
      while swl_time(head) + window <= now do
        if pops == 4 then
          redis.call('LTRIM', key, swl_slow().first_live(key, now, window), -1)
          head = redis.call('LINDEX', key, 0)
          break
        end
        redis.call('LPOP', key)
        pops = pops + 1
        if after_head then
          head, after_head = after_head, nil
        else
          pair = redis.call('LRANGE', key, 0, 1)
          head, after_head = pair[1], pair[2]
        end
      end
      base = swl_before(head)
      count = total - base
    end
  end
  local units = math.ceil(cost)
  local fits = count + cost <= limit
  local function commit(take, brief)
    if take then
      if newest and base > 0 and total + units > SWL_EXACT then
        swl_slow().renumber(key, base, fp)
        total, base = total - base, 0
      end
      if newest == now then
        -- rare: requests at one instant share the newest entry
        local before = swl_before(redis.call('LINDEX', key, -1))
        total = total + units
        redis.call('LSET', key, -1, swl_entry(now, before, total, fp))
      else
        local before = total or 0
        total, newest = before + units, now
        redis.call('RPUSH', key, swl_entry(now, before, total, fp))
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
      retry = swl_slow().time_of_unit(key, base, count + units - limit) + window - now
    end
    return math.max(0, limit - count), retry, reset
  end
  return fits, commit
end
