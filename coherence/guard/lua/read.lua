-- read(lease_ms) -> {'hit', value} | {'pending', version} | {'miss'}
local value = redis.call('GET', KEYS[1])
if value then
  return {'hit', value}
end
local lease = tonumber(ARGV[1])
local h = redis.call('HMGET', KEYS[2], 'v', 'w', 's', 'l')
local now = now_us()
if not h[1] then
  -- First miss of this key (or its state was evicted): start its guard state with a lease,
  -- and a version above any the key had before.
  local v = str(now)
  redis.call('HSET', KEYS[2], 'v', v, 'w', '0', 's', 'c', 'l', v)
  redis.call('PEXPIRE', KEYS[2], lease)
  return {'miss'}
end
if h[3] == 'p' and math.floor(now / 1000) < num(h[2]) then
  return {'pending', h[1]}
end
if h[4] ~= h[1] then
  redis.call('HSET', KEYS[2], 'l', h[1])
end
keep(lease)
return {'miss'}
