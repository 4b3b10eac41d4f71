-- Take a bulkhead slot: a lease in a sorted set (member: token, score: expiry ms).
-- KEYS[1]: the slots' sorted set. ARGV: token, max_concurrent, lease (ms).
-- Expired leases (their holder died) are dropped first. Returns 1 (taken) or 0 (full).
local key = KEYS[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
if redis.call('ZCARD', key) < tonumber(ARGV[2]) then
  redis.call('ZADD', key, now + tonumber(ARGV[3]), ARGV[1])
  redis.call('PEXPIRE', key, tonumber(ARGV[3]) * 2)
  return 1
end
return 0
