-- Shared by every rate-limit script. Numbers cross the wire as strings with 17 significant
-- digits (F for replies; Redis itself uses %.17g for numbers passed to redis.call), so a
-- double survives every round trip exactly and Lua computes what Python computes.
local ALGORITHMS = {}

local function F(x)
  return string.format('%.17g', x)
end

-- The key must outlive the state it holds (plus a second of slack), never the other way
-- round. Each redis.call costs about as much as the arithmetic of a whole check, so hash
-- states remember until when their TTL covers them (field x, in the limiter's clock;
-- -1 = no expiry) and renew it only when it no longer does: usually two calls per check.
local function ttl_plan(seconds, now, covered_until)
  if seconds == math.huge then
    return -1, covered_until ~= -1
  end
  local need = seconds + 1
  if covered_until and covered_until ~= -1 and now + need <= covered_until then
    return covered_until, false
  end
  return now + 2 * need, true
end

-- Keys whose state another policy had written under the same name: reset by this call.
local RESET = {}

local function reset_key(key)
  redis.call('DEL', key)
  RESET[#RESET + 1] = key
end

-- Reads a hash state's fields; the last one asked for must be 'f', the fingerprint of the
-- policy (algorithm, parameters, layout) that wrote it. A state written by another algorithm
-- (the sliding log's list) or another fingerprint (or none: an older process) is deleted and
-- reported, never reinterpreted. One HMGET either way: the check costs no round trip.
local function read_hash(key, fp, ...)
  local state = redis.pcall('HMGET', key, ...)
  if state.err then
    -- only the sliding log's list is another policy's state; anything else (a string someone
    -- SET here) stays the WRONGTYPE error it is, a bug to raise, not a state to reset
    if redis.call('TYPE', key).ok ~= 'list' then error(state) end
    reset_key(key)
    return {}
  end
  local f = state[#state]  -- (a missing field is false, not nil, so # counts every field asked for)
  if f ~= fp and (f or state[1]) then
    reset_key(key)
    return {}
  end
  return state
end

-- Writes a hash state (field/value pairs) and keeps its TTL covering it; see ttl_plan. The
-- fingerprint is written with the TTL mark (a new state always renews, so it always has one).
local function save_hash(key, fp, seconds, now, covered_until, ...)
  local until_, renew = ttl_plan(seconds, now, covered_until)
  if not renew then
    redis.call('HSET', key, ...)
    return
  end
  redis.call('HSET', key, 'x', until_, 'f', fp, ...)
  if until_ == -1 then
    redis.call('PERSIST', key)
  else
    redis.call('PEXPIRE', key, math.ceil((until_ - now) * 1000))
  end
end

-- For states that are not hashes (the sliding log's list): a PTTL read instead.
local function expire_after(key, seconds)
  if seconds == math.huge then
    redis.call('PERSIST', key)
    return
  end
  local need = math.ceil(seconds * 1000) + 1000
  if redis.call('PTTL', key) < need then
    redis.call('PEXPIRE', key, 2 * need)
  end
end

local function read_now(arg)
  if arg == 'server' then
    local t = redis.call('TIME')
    return tonumber(t[1]) + tonumber(t[2]) / 1000000
  end
  return tonumber(arg)
end

-- Every algorithm returns (fits, commit). commit(take, brief) writes the new state and, unless
-- brief, returns remaining, retry_after and reset_after for the reply.

-- ARGV: now, cost, a, b, fingerprint  ->  {allowed, remaining, retry_after, reset_after}, or
-- 1/0 if brief; allowed is 2 more (3/2) when another policy's state was reset.
local function single(algorithm, brief)
  local now, cost = read_now(ARGV[1]), tonumber(ARGV[2])
  local fits, commit = algorithm(KEYS[1], now, cost, tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5])
  local flag = (fits and 1 or 0) + (#RESET > 0 and 2 or 0)
  if brief then
    commit(fits, true)
    return flag
  end
  local remaining, retry, reset = commit(fits)
  return {flag, remaining, F(retry), F(reset)}
end

-- All-or-nothing over several keys. ARGV: now, cost, then (algorithm, a, b, fingerprint) per key.
-- -> {allowed, then remaining, retry_after, reset_after, fits per key}, or 1/0 if brief.
-- When another policy's state was reset, allowed is 2 more and the reset keys' positions
-- (1-based) follow: at the end of the full reply, or as {allowed, positions...} if brief.
local function multi(brief)
  local now, cost = read_now(ARGV[1]), tonumber(ARGV[2])
  local commits, all, resets = {}, true, {}
  for i = 1, #KEYS do
    local base = 4 * (i - 1) + 2
    local algorithm = ALGORITHMS[ARGV[base + 1]]
    local before = #RESET
    local fits, commit = algorithm(KEYS[i], now, cost, tonumber(ARGV[base + 2]), tonumber(ARGV[base + 3]),
      ARGV[base + 4])
    if #RESET > before then resets[#resets + 1] = i end
    commits[i] = {fits, commit}
    all = all and fits
  end
  local flag = (all and 1 or 0) + (#resets > 0 and 2 or 0)
  if brief then
    for i = 1, #KEYS do commits[i][2](all, true) end
    if #resets == 0 then return flag end
    return {flag, unpack(resets)}
  end
  local out = {flag}
  for i = 1, #KEYS do
    local fits = commits[i][1]
    -- A limit that fitted reports no wait even when another one refused.
    local remaining, retry, reset = commits[i][2](all)
    table.insert(out, remaining)
    table.insert(out, F(retry))
    table.insert(out, F(reset))
    table.insert(out, fits and 1 or 0)
  end
  for _, i in ipairs(resets) do table.insert(out, i) end
  return out
end
