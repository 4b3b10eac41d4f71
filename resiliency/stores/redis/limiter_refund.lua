-- GCRA: give back n reserved tokens (their callers were cancelled while waiting).
-- KEYS[1]: the limiter's TAT (us). ARGV: emission interval T (us), n.
local key = KEYS[1]
local tat = tonumber(redis.call('GET', key))
if tat then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  tat = math.max(tat - tonumber(ARGV[1]) * tonumber(ARGV[2]), now)
  redis.call('SET', key, string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1)
end
return 1
