-- Settle an attempt: done, pending again later, or dead. Ignored for a stale token.
-- KEYS[1]: item hash, KEYS[2]: in-flight set, KEYS[3]: target state set, KEYS[4]: stream,
-- KEYS[5]: delayed zset. ARGV: id, token ("" for any), state, error, retry_at ("" for none), group.
local token = redis.call("HGET", KEYS[1], "token")
if ARGV[2] ~= "" and token ~= ARGV[2] then
  return 0
end
local entry = redis.call("HGET", KEYS[1], "entry")
if entry then
  redis.call("XACK", KEYS[4], ARGV[6], entry)
  redis.call("XDEL", KEYS[4], entry)
end
redis.call("SMOVE", KEYS[2], KEYS[3], ARGV[1])
redis.call("HSET", KEYS[1], "state", ARGV[3])
redis.call("HDEL", KEYS[1], "token", "entry")
if ARGV[4] ~= "" then
  redis.call("HSET", KEYS[1], "last_error", ARGV[4])
end
if ARGV[5] ~= "" then
  redis.call("ZADD", KEYS[5], ARGV[5], ARGV[1])
end
return 1
