-- Take an idempotency key, or return its answer.
-- KEYS[1]: the answer key, KEYS[2]: the lock key. ARGV[1]: token, ARGV[2]: lease ms.
-- Returns {1, token} to run, {0, answer} when answered, {2} while another holder runs.
local answer = redis.call("GET", KEYS[1])
if answer then
  return {0, answer}
end
if redis.call("SET", KEYS[2], ARGV[1], "NX", "PX", ARGV[2]) then
  return {1, ARGV[1]}
end
return {2}
