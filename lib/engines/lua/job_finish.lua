-- Finishes taken jobs. A job whose token does not match, or that is no longer active (its lease expired
-- and it was reclaimed, or it was finished already), is left alone: "lost".
-- KEYS: 1 wait, 2 delayed, 3 active, 4 completed, 5 failed, 6 dead, 7 meta
-- ARGV: 1 job key prefix, 2 n, then n groups of 5: id token outcome(done|retry|fail) error random(0..999999)
-- Returns 2 values per job: the new state (completed, delayed, failed, dead or lost) and the wait in ms.
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
	if redis.call('HGET', jk, 'tok') ~= tok or redis.call('ZREM', KEYS[3], id) == 0 then
		out[#out + 1] = 'lost'
		out[#out + 1] = 0
	elseif what == 'done' then
		redis.call('ZADD', KEYS[4], now, id)
		done_n = done_n + 1
		out[#out + 1] = 'completed'
		out[#out + 1] = 0
	elseif what == 'fail' then
		redis.call('HSET', jk, 'err', err)
		redis.call('ZADD', KEYS[5], now, id)
		failed_n = failed_n + 1
		out[#out + 1] = 'failed'
		out[#out + 1] = 0
	else
		local f = redis.call('HMGET', jk, 'att', 'max', 'bo')
		redis.call('HSET', jk, 'err', err)
		if tonumber(f[1]) >= tonumber(f[2]) then
			redis.call('ZADD', KEYS[6], now, id)
			out[#out + 1] = 'dead'
			out[#out + 1] = 0
		else
			local kind, base, cap, jit = string.match(f[3], '^(%a+):(%d+):(%d+):(%d+)$')
			local wait = tonumber(base)
			if kind == 'exp' then wait = wait * 2 ^ (tonumber(f[1]) - 1) end
			if wait > tonumber(cap) then wait = tonumber(cap) end
			wait = wait - math.floor(wait * tonumber(jit) / 100 * tonumber(ARGV[a + 4]) / 1000000)
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
