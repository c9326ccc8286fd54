-- Shared by every rate-limit script. Numbers cross the wire as strings with 17 significant
-- digits, so a double survives the round trip exactly and Lua computes what Python computes.
local ALGORITHMS = {}

local function F(x)
  return string.format('%.17g', x)
end

local function expire_after(key, seconds)
  if seconds == math.huge then
    redis.call('PERSIST', key)
  else
    -- A second of slack: the key must outlive the state it holds, never the other way round.
    redis.call('PEXPIRE', key, math.ceil(seconds * 1000) + 1000)
  end
end

local function read_now(arg)
  if arg == 'server' then
    local t = redis.call('TIME')
    return tonumber(t[1]) + tonumber(t[2]) / 1000000
  end
  return tonumber(arg)
end

-- ARGV: now, cost, a, b  ->  {allowed, remaining, retry_after, reset_after}
local function single(algorithm)
  local now, cost = read_now(ARGV[1]), tonumber(ARGV[2])
  local fits, commit = algorithm(KEYS[1], now, cost, tonumber(ARGV[3]), tonumber(ARGV[4]))
  local remaining, retry, reset = commit(fits)
  return {fits and 1 or 0, remaining, F(retry), F(reset)}
end

-- All-or-nothing over several keys. ARGV: now, cost, then (algorithm, a, b) per key.
-- -> {allowed, then remaining, retry_after, reset_after, fits per key}
local function multi()
  local now, cost = read_now(ARGV[1]), tonumber(ARGV[2])
  local commits, all = {}, true
  for i = 1, #KEYS do
    local base = 3 * (i - 1) + 2
    local algorithm = ALGORITHMS[ARGV[base + 1]]
    local fits, commit = algorithm(KEYS[i], now, cost, tonumber(ARGV[base + 2]), tonumber(ARGV[base + 3]))
    commits[i] = {fits, commit}
    all = all and fits
  end
  local out = {all and 1 or 0}
  for i = 1, #KEYS do
    local fits = commits[i][1]
    -- A limit that fitted reports no wait even when another one refused.
    local remaining, retry, reset = commits[i][2](all)
    table.insert(out, remaining)
    table.insert(out, F(retry))
    table.insert(out, F(reset))
    table.insert(out, fits and 1 or 0)
  end
  return out
end
