-- Adds jobs to one queue, each only if its id is not there yet (the idempotency key).
-- KEYS: 1 wait, 2 delayed, 3 active, 4 completed, 5 failed, 6 dead, 7 meta
-- ARGV: 1 job key prefix ("rs:{q:<queue>}:j:"), 2 n, then n groups of 12:
--       id payload priority max_attempts backoff(fixed|exp) backoff_ms backoff_max_ms jitter_pct
--       run_at_ms(0 = none) delay_ms ttl_ms repeat_name
-- Returns n values: 1 added, 0 the id was there already.
-- A job hash holds only what later steps read: payload, ws (its score in wait), max, bo (backoff
-- "kind:base:cap:jitter"), and when set exp (ms it expires unstarted) and rep (its repeatable schedule);
-- due (when added with a delay); att (attempts), tok (lease token) and err (last error) come later. Which sorted set holds the id is
-- its state.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = tonumber(ARGV[2])
local seq = redis.call('HINCRBY', KEYS[7], 'seq', n) - n
local out = {}
for i = 0, n - 1 do
	local a = 3 + i * 12
	local id = ARGV[a]
	local jk = ARGV[1] .. id
	-- HSETNX on the payload is the existence check: one call instead of EXISTS + HSET.
	if redis.call('HSETNX', jk, 'payload', ARGV[a + 1]) == 0 then
		out[#out + 1] = 0
	else
		seq = seq + 1
		local ws = string.format('%.0f', (1000 - tonumber(ARGV[a + 2])) * 1099511627776 + seq % 1099511627776)
		local due = now + tonumber(ARGV[a + 9])
		local run_at = tonumber(ARGV[a + 8])
		if run_at > 0 then due = run_at end
		redis.call('HSET', jk, 'ws', ws, 'max', ARGV[a + 3],
			'bo', ARGV[a + 4] .. ':' .. ARGV[a + 5] .. ':' .. ARGV[a + 6] .. ':' .. ARGV[a + 7])
		local ttl = tonumber(ARGV[a + 10])
		if ttl > 0 then redis.call('HSET', jk, 'exp', now + ttl) end
		if ARGV[a + 11] ~= '' then redis.call('HSET', jk, 'rep', ARGV[a + 11]) end
		if due > now then
			redis.call('HSET', jk, 'due', due)
			redis.call('ZADD', KEYS[2], due, id)
		else
			redis.call('ZADD', KEYS[1], ws, id)
		end
		out[#out + 1] = 1
	end
end
return out
