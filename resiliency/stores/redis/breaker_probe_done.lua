-- Settle a half-open probe of a shared breaker.
-- KEYS[1]: the breaker's hash. ARGV: outcome (1 success, 0 failure, -1 released),
-- generation the probe was let through in, success_threshold, key ttl (ms).
-- A failure reopens the breaker; the success_threshold-th success closes it with
-- fresh counts. A probe of an older round counts for nothing.
-- Returns what breaker_sync returns.
local key = KEYS[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local h = redis.call('HMGET', key, 'st', 'gen', 'at', 'pin', 'pok', 'forced')
local st = tonumber(h[1]) or 0
local gen = tonumber(h[2]) or 0
local at = tonumber(h[3]) or now
if st == 1 and gen == tonumber(ARGV[2]) then
  local pin = math.max((tonumber(h[4]) or 0) - 1, 0)
  local pok = tonumber(h[5]) or 0
  if ARGV[1] == '0' then
    st = 2
    gen = gen + 1
    at = now
    redis.call('HSET', key, 'st', st, 'gen', gen, 'at', at, 'pin', 0, 'pok', 0)
  elseif ARGV[1] == '1' and pok + 1 >= tonumber(ARGV[3]) then
    st = 0
    gen = gen + 1
    at = now
    redis.call('HSET', key, 'st', st, 'gen', gen, 'at', at, 'pin', 0, 'pok', 0, 's', 0, 'f', 0)
  elseif ARGV[1] == '1' then
    redis.call('HSET', key, 'pin', pin, 'pok', pok + 1)
  else
    redis.call('HSET', key, 'pin', pin)
  end
  redis.call('PEXPIRE', key, ARGV[4])
end
return {st, gen, now - at, 0, 0, tonumber(h[6]) or 0}
