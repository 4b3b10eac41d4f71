-- Queue the delayed items whose backoff is over.
-- KEYS[1]: delayed zset, KEYS[2]: stream. ARGV: now, limit.
local due = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", ARGV[1], "LIMIT", 0, ARGV[2])
for _, id in ipairs(due) do
  redis.call("ZREM", KEYS[1], id)
  redis.call("XADD", KEYS[2], "*", "id", id)
end
return #due
