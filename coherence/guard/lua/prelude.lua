-- Shared by every guard script. KEYS[1] is the key, KEYS[2] its sidecar hash:
--   v  version: bumped by every invalidation (microseconds, decimal)
--   w  end of the coherence window (milliseconds since the epoch)
--   s  state: p pull pending, a row absent, f value stored, c created by a read miss
--   l  lease: equal to v when a read missed since the last invalidation or store
-- Time is the server's, so every discoh instance sees the same window.

local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end

local function num(s)
  return tonumber(s or '0') or 0
end

local function str(n)
  return string.format('%.0f', n)
end

-- keep makes the sidecar live at least ms longer; a sidecar with no expiry keeps none.
local function keep(ms)
  local left = redis.call('PTTL', KEYS[2])
  if left >= 0 and left < ms then
    redis.call('PEXPIRE', KEYS[2], ms)
  end
end

-- store sets the value and marks it stored. The sidecar must outlive the value (else a
-- later fill could not tell an evicted tombstone from none) and the window.
local function store(value, ttl_ms, window_end)
  redis.call('HSET', KEYS[2], 's', 'f', 'l', '0')
  if ttl_ms > 0 then
    redis.call('SET', KEYS[1], value, 'PX', ttl_ms)
    local window_left = window_end - math.floor(now_us() / 1000)
    redis.call('PEXPIRE', KEYS[2], math.max(ttl_ms, window_left))
  else
    redis.call('SET', KEYS[1], value)
    redis.call('PERSIST', KEYS[2])
  end
end
