-- Confirms a batch of pending operations whose events the brokers acknowledged: state := done.
-- KEYS: the operations' records (all of one store). Returns the number confirmed.
local n = 0
for i = 1, #KEYS do
  local inflight = tonumber(redis.call('HGET', KEYS[i], 'inflight'))
  if inflight then
    if inflight > 0 then inflight = inflight - 1 end
    redis.call('HSET', KEYS[i], 'state', 'done', 'inflight', inflight)
    n = n + 1
  end
end
return n
