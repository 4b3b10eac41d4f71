-- A retry budget (Finagle): deposits and withdrawals counted in time slices.
-- KEYS[1]: the budget's hash (fields d<slice>, w<slice>).
-- ARGV: deposits to add, withdraw (1: take one retry, 0: only deposit), ratio,
-- min_per_second, window (ms), slices.
-- Balance = ratio * deposits + min_per_second * window - withdrawals, over the slices
-- of the last window; a withdrawal needs a balance >= 1.
-- Returns 1 (retry allowed, or a plain deposit) or 0 (budget spent).
local key = KEYS[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[5])
local slices = tonumber(ARGV[6])
local width = window / slices
local current = math.floor(now / width)
if tonumber(ARGV[1]) > 0 then
  redis.call('HINCRBY', key, 'd' .. current, ARGV[1])
end
local allowed = 1
if ARGV[2] == '1' then
  local deposits, withdrawals = 0, 0
  local all = redis.call('HGETALL', key)
  for i = 1, #all, 2 do
    local slice = tonumber(string.sub(all[i], 2))
    if slice <= current - slices then
      redis.call('HDEL', key, all[i])
    elseif string.sub(all[i], 1, 1) == 'd' then
      deposits = deposits + tonumber(all[i + 1])
    else
      withdrawals = withdrawals + tonumber(all[i + 1])
    end
  end
  local balance = tonumber(ARGV[3]) * deposits + tonumber(ARGV[4]) * window / 1000 - withdrawals
  if balance >= 1 then
    redis.call('HINCRBY', key, 'w' .. current, 1)
  else
    allowed = 0
  end
end
redis.call('PEXPIRE', key, window * 2)
return allowed
