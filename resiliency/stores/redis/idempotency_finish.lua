-- Keep an answer and free the key.
-- KEYS[1]: the answer key, KEYS[2]: the lock key.
-- ARGV[1]: token, ARGV[2]: "1" to keep the answer, ARGV[3]: answer, ARGV[4]: ttl ms.
if ARGV[2] == "1" then
  redis.call("SET", KEYS[1], ARGV[3], "NX", "PX", ARGV[4])
end
if redis.call("GET", KEYS[2]) == ARGV[1] then
  redis.call("DEL", KEYS[2])
end
return 1
