-- Ask a shared breaker for a half-open probe slot.
-- KEYS[1]: the breaker's hash. ARGV: reset_timeout (ms), half_open_max_calls, key ttl (ms).
-- Open for reset_timeout: it turns half-open (a new generation) and this is the first
-- probe. Half-open: at most half_open_max_calls probes in flight fleet-wide; a round
-- older than reset_timeout (its probes' holders may have died) starts afresh.
-- Returns {verdict, wait ms, st, gen}: verdict 1 probe, 0 closed (go), -1 rejected.
local key = KEYS[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local h = redis.call('HMGET', key, 'st', 'gen', 'at', 'forced', 'pin')
local st = tonumber(h[1]) or 0
local gen = tonumber(h[2]) or 0
local at = tonumber(h[3]) or now
local reset = tonumber(ARGV[1])
if st == 0 then
  return {0, 0, st, gen}
end
if tonumber(h[4]) == 1 then
  return {-1, -1, st, gen}
end
local pin = tonumber(h[5]) or 0
if st == 2 or now - at >= reset then
  if st == 2 and now - at < reset then
    return {-1, reset - (now - at), st, gen}
  end
  gen = gen + 1
  redis.call('HSET', key, 'st', 1, 'gen', gen, 'at', now, 'pin', 1, 'pok', 0)
  redis.call('PEXPIRE', key, ARGV[3])
  return {1, 0, 1, gen}
end
if pin < tonumber(ARGV[2]) then
  redis.call('HINCRBY', key, 'pin', 1)
  return {1, 0, st, gen}
end
return {-1, 0, st, gen}
