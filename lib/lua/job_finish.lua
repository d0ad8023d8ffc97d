-- Finishes taken jobs. A job whose token does not match (its lease expired and it was reclaimed) is
-- left alone: "lost".
-- KEYS: 1 wait, 2 delayed, 3 active, 4 completed, 5 failed, 6 dead, 7 meta
-- ARGV: 1 job key prefix, 2 n, then n groups of 5: id token outcome(done|retry|fail) error random(0..999999)
-- Returns per job: "completed", "delayed" (then the wait in ms follows... see below), "failed", "dead"
-- or "lost"; the reply is 2 values per job: state, wait_ms.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local P = ARGV[1]
local n = tonumber(ARGV[2])
local out = {}
local done_n, failed_n = 0, 0
for i = 0, n - 1 do
	local a = 3 + i * 5
	local id, tok, what, err = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
	local jk = P .. id
	local f = redis.call('HMGET', jk, 'tok', 'att', 'max', 'bk', 'bms', 'bmax', 'jit')
	if f[1] ~= tok or not redis.call('ZSCORE', KEYS[3], id) then
		out[#out + 1] = 'lost'
		out[#out + 1] = 0
	else
		redis.call('ZREM', KEYS[3], id)
		if what == 'done' then
			redis.call('HSET', jk, 'state', 'completed', 'tok', '', 'fin', now)
			redis.call('ZADD', KEYS[4], now, id)
			done_n = done_n + 1
			out[#out + 1] = 'completed'
			out[#out + 1] = 0
		elseif what == 'fail' then
			redis.call('HSET', jk, 'state', 'failed', 'tok', '', 'err', err, 'fin', now)
			redis.call('ZADD', KEYS[5], now, id)
			failed_n = failed_n + 1
			out[#out + 1] = 'failed'
			out[#out + 1] = 0
		elseif tonumber(f[2]) >= tonumber(f[3]) then
			redis.call('HSET', jk, 'state', 'dead', 'tok', '', 'err', err, 'fin', now)
			redis.call('ZADD', KEYS[6], now, id)
			out[#out + 1] = 'dead'
			out[#out + 1] = 0
		else
			local wait = tonumber(f[5])
			if f[4] == 'exp' then wait = wait * 2 ^ (tonumber(f[2]) - 1) end
			if wait > tonumber(f[6]) then wait = tonumber(f[6]) end
			wait = wait - math.floor(wait * tonumber(f[7]) / 100 * tonumber(ARGV[a + 4]) / 1000000)
			redis.call('HSET', jk, 'state', 'delayed', 'tok', '', 'err', err, 'due', now + wait)
			redis.call('ZADD', KEYS[2], now + wait, id)
			out[#out + 1] = 'delayed'
			out[#out + 1] = wait
		end
	end
end
local function trim(key, keep_field, default)
	local keep = tonumber(redis.call('HGET', KEYS[7], keep_field) or default)
	local over = redis.call('ZCARD', key) - keep
	if over > 0 then
		local old = redis.call('ZPOPMIN', key, over)
		for i = 1, #old, 2 do redis.call('DEL', P .. old[i]) end
	end
end
if done_n > 0 then trim(KEYS[4], 'keep_completed', 1000) end
if failed_n > 0 then trim(KEYS[5], 'keep_failed', 10000) end
return out
