-- Close a shared breaker and clear its counts (reset()): a new generation.
-- KEYS[1]: the breaker's hash. ARGV: key ttl (ms). Returns what breaker_sync returns.
local key = KEYS[1]
local gen = (tonumber(redis.call('HGET', key, 'gen')) or 0) + 1
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', key, 'st', 0, 'gen', gen, 'at', now, 's', 0, 'f', 0, 'forced', 0, 'pin', 0, 'pok', 0)
redis.call('PEXPIRE', key, ARGV[1])
return {0, gen, 0, 0, 0, 0}
