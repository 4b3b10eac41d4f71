-- Take a delivered item for a worker: in flight, attempts counted, a fresh token.
-- KEYS[1]: item hash, KEYS[2]: pending set, KEYS[3]: in-flight set, KEYS[4]: stream.
-- ARGV: id, entry id, token, group.
-- Returns the item's fields, or {} when it is gone, done or dead (its entry is acked).
local state = redis.call("HGET", KEYS[1], "state")
if (not state) or state == "done" or state == "dead" then
  redis.call("XACK", KEYS[4], ARGV[4], ARGV[2])
  redis.call("XDEL", KEYS[4], ARGV[2])
  return {}
end
redis.call("SMOVE", KEYS[2], KEYS[3], ARGV[1])
redis.call("HINCRBY", KEYS[1], "attempts", 1)
redis.call("HSET", KEYS[1], "state", "in_flight", "token", ARGV[3], "entry", ARGV[2])
return redis.call("HMGET", KEYS[1], "op", "payload", "key", "attempts", "state", "last_error", "created", "token")
