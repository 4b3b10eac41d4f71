-- Give a bulkhead slot back. KEYS[1]: the slots' sorted set. ARGV: token.
return redis.call('ZREM', KEYS[1], ARGV[1])
