-- GCRA: take one token for each of n callers, in order, atomically.
-- KEYS[1]: the limiter's theoretical arrival time (TAT, microseconds).
-- ARGV: emission interval T (us per token), burst, tokens to give back first (their
-- callers were cancelled while waiting), then one max_wait (us) per caller.
-- A caller is let through at once when TAT' - burst*T <= now (TAT' = max(TAT, now) + T);
-- within its max_wait it is let through after that wait (reserved: TAT moves on);
-- otherwise it is refused and TAT stays.
-- Returns one integer per caller: the wait in us (>= 0), or -1 - retry_after_us; a
-- single caller gets the integer itself (a list reply costs redis-py more to read).
local key = KEYS[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local span = tonumber(ARGV[2]) * interval
local tat = tonumber(redis.call('GET', key)) or now
tat = math.max(tat - tonumber(ARGV[3]) * interval, now)
local out = {}
for i = 4, #ARGV do
  local new_tat = math.max(tat, now) + interval
  local wait = new_tat - span - now
  if wait <= 0 then
    tat = new_tat
    out[#out + 1] = 0
  elseif wait <= tonumber(ARGV[i]) then
    tat = new_tat
    out[#out + 1] = math.ceil(wait)
  else
    out[#out + 1] = -1 - math.ceil(wait)
  end
end
if tat > now then
  redis.call('SET', key, string.format('%.3f', tat), 'PX', math.ceil((tat - now) / 1000) + 1)
else
  redis.call('DEL', key)
end
if #out == 1 then
  return out[1]
end
return out
