-- Adds jobs to one queue, each only if its id is not there yet (the idempotency key).
-- KEYS: 1 wait, 2 delayed, 3 active, 4 completed, 5 failed, 6 dead, 7 meta
-- ARGV: 1 job key prefix ("rs:{q:<queue>}:j:"), 2 n, then n groups of 12:
--       id payload priority max_attempts backoff(fixed|exp) backoff_ms backoff_max_ms jitter_pct
--       run_at_ms(0 = none) delay_ms ttl_ms repeat_name
-- Returns n values: 1 added, 0 the id was there already.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = tonumber(ARGV[2])
local seq = redis.call('HINCRBY', KEYS[7], 'seq', n) - n
local out = {}
for i = 0, n - 1 do
	local a = 3 + i * 12
	local id = ARGV[a]
	local jk = ARGV[1] .. id
	if redis.call('EXISTS', jk) == 1 then
		out[#out + 1] = 0
	else
		seq = seq + 1
		local prio = tonumber(ARGV[a + 2])
		local due = now + tonumber(ARGV[a + 9])
		local run_at = tonumber(ARGV[a + 8])
		if run_at > 0 then due = run_at end
		local ttl = tonumber(ARGV[a + 10])
		local exp = 0
		if ttl > 0 then exp = now + ttl end
		local state = 'waiting'
		if due > now then state = 'delayed' end
		redis.call('HSET', jk, 'payload', ARGV[a + 1], 'prio', prio, 'seq', seq, 'max', ARGV[a + 3],
			'bk', ARGV[a + 4], 'bms', ARGV[a + 5], 'bmax', ARGV[a + 6], 'jit', ARGV[a + 7], 'exp', exp,
			'rep', ARGV[a + 11], 'att', 0, 'state', state, 'due', due, 'added', now, 'tok', '', 'err', '')
		if state == 'delayed' then
			redis.call('ZADD', KEYS[2], due, id)
		else
			redis.call('ZADD', KEYS[1], string.format('%.0f', (1000 - prio) * 1099511627776 + seq % 1099511627776), id)
		end
		out[#out + 1] = 1
	end
end
return out
