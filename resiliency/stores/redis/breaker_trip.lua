-- Open a shared breaker: a process's breaker tripped, or force_open() was called.
-- KEYS[1]: the breaker's hash. ARGV: forced (0/1), key ttl (ms).
-- A trip opens only a closed breaker (while half-open, the probes decide); forcing
-- opens it in any state. Returns what breaker_sync returns.
local key = KEYS[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local h = redis.call('HMGET', key, 'st', 'gen', 'at', 's', 'f', 'forced')
local st = tonumber(h[1]) or 0
local gen = tonumber(h[2]) or 0
local at = tonumber(h[3]) or now
local forced = tonumber(h[6]) or 0
if ARGV[1] == '1' then
  forced = 1
end
if st == 0 or (ARGV[1] == '1' and st ~= 2) or (ARGV[1] == '1' and tonumber(h[6]) ~= 1) then
  st = 2
  gen = gen + 1
  at = now
  redis.call('HSET', key, 'st', st, 'gen', gen, 'at', at, 'forced', forced, 'pin', 0, 'pok', 0)
end
redis.call('PEXPIRE', key, ARGV[2])
return {st, gen, now - at, tonumber(h[4]) or 0, tonumber(h[5]) or 0, forced}
