-- fill(value, ttl_ms) -> stored | window | nolease | missing
-- A client's SET of a coherent key: a compare-and-set against the lease a read miss took.
local h = redis.call('HMGET', KEYS[2], 'v', 'w', 'l')
if not h[1] then
  -- No guard state: it may have been evicted with the tombstone that would refuse this
  -- fill, so refuse (G5).
  return 'missing'
end
if math.floor(now_us() / 1000) < num(h[2]) then
  -- Inside the window the directory's pull is authoritative: this fill may carry a value
  -- read before the write that caused the invalidation (G2).
  return 'window'
end
if h[3] ~= h[1] then
  -- No read missed since the last invalidation or store: the fill may come from a read of
  -- the database before that invalidation (G2).
  return 'nolease'
end
store(ARGV[1], tonumber(ARGV[2]), num(h[2]))
return 'stored'
