-- Re-queue a dead item with its attempts reset.
-- KEYS[1]: item hash, KEYS[2]: dead set, KEYS[3]: pending set, KEYS[4]: stream. ARGV: id.
if redis.call("HGET", KEYS[1], "state") ~= "dead" then
  return 0
end
redis.call("SMOVE", KEYS[2], KEYS[3], ARGV[1])
redis.call("HSET", KEYS[1], "state", "pending", "attempts", 0)
redis.call("XADD", KEYS[4], "*", "id", ARGV[1])
return 1
