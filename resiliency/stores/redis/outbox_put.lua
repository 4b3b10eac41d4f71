-- Store a pending item and queue it.
-- KEYS[1]: item hash, KEYS[2]: pending set, KEYS[3]: stream.
-- ARGV: id, op, payload, key, created.
redis.call("HSET", KEYS[1], "op", ARGV[2], "payload", ARGV[3], "key", ARGV[4], "attempts", 0,
  "state", "pending", "created", ARGV[5])
redis.call("SADD", KEYS[2], ARGV[1])
redis.call("XADD", KEYS[3], "*", "id", ARGV[1])
return 1
