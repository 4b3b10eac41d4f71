-- Extend the leases of slots still held. KEYS[1]: the slots' sorted set.
-- ARGV: lease (ms), then the tokens. Returns how many were still there.
local key = KEYS[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local renewed = 0
for i = 2, #ARGV do
  renewed = renewed + redis.call('ZADD', key, 'XX', 'CH', now + tonumber(ARGV[1]), ARGV[i])
end
redis.call('PEXPIRE', key, tonumber(ARGV[1]) * 2)
return renewed
