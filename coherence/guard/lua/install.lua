-- install(version, found, value, ttl_ms) -> stored | stale | missing
-- Stores a pulled value only while the version is the one the pull started for (G3).
local h = redis.call('HMGET', KEYS[2], 'v', 'w')
if not h[1] then
  -- The sidecar was evicted: fail closed, leave no value behind (G5).
  redis.call('DEL', KEYS[1])
  return 'missing'
end
if h[1] ~= ARGV[1] then
  return 'stale'
end
if ARGV[2] == '0' then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[2], 's', 'a')
  return 'stored'
end
store(ARGV[3], tonumber(ARGV[4]), num(h[2]))
return 'stored'
