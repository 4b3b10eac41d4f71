-- Flush one process's counts into a shared breaker and read its state.
-- KEYS[1]: the breaker's hash. ARGV: generation the counts belong to, successes,
-- failures, key ttl (ms). A missing key is a fresh closed breaker.
-- Fields: st (0 closed, 1 half-open, 2 open), gen (bumped on every change), at (ms of
-- the last change), forced, s / f (counts of this closed generation).
-- Returns {st, gen, ms since at, s, f, forced}.
local key = KEYS[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local h = redis.call('HMGET', key, 'st', 'gen', 'at', 's', 'f', 'forced')
local st = tonumber(h[1]) or 0
local gen = tonumber(h[2]) or 0
local at = tonumber(h[3]) or now
local s = tonumber(h[4]) or 0
local f = tonumber(h[5]) or 0
local ds = tonumber(ARGV[2])
local df = tonumber(ARGV[3])
if st == 0 and tonumber(ARGV[1]) == gen and (ds > 0 or df > 0) then
  s = s + ds
  f = f + df
  redis.call('HSET', key, 's', s, 'f', f, 'gen', gen, 'st', st, 'at', at)
end
if h[1] then
  redis.call('PEXPIRE', key, ARGV[4])
end
return {st, gen, now - at, s, f, tonumber(h[6]) or 0}
