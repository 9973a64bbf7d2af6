-- invalidate(window_ms) -> new version
-- Bumps the version, so that pulls started before now cannot install (G3); deletes the
-- value, so that no read after the acknowledgement sees it (G1); opens the window, so that
-- a racing client fill is refused (G2). The sidecar outlives the window by as long again, so
-- that a fill after the window still finds the lease this invalidation took.
local window = tonumber(ARGV[1])
local now = now_us()
local v = math.max(num(redis.call('HGET', KEYS[2], 'v')) + 1, now)
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[2], 'v', str(v), 'w', str(math.floor(now / 1000) + window), 's', 'p', 'l', '0')
redis.call('PEXPIRE', KEYS[2], 2 * window)
return str(v)
