-- Queue administration in one atomic step.
-- KEYS: 1 wait, 2 delayed, 3 active, 4 completed, 5 failed, 6 dead, 7 meta
-- ARGV: 1 job key prefix, 2 op, 3 id ("" = every dead job)
--   counts     -> waiting delayed active completed failed dead paused
--   get        -> state attempts max_attempts due_ms last_error (state "" when no such job)
--   retry_dead -> how many dead jobs moved back to waiting with fresh attempts (-1: id not dead)
--   purge_dead -> how many dead jobs were deleted (-1: id not dead)
local P, op, id = ARGV[1], ARGV[2], ARGV[3]
if op == 'counts' then
	local out = {}
	for i = 1, 6 do out[i] = redis.call('ZCARD', KEYS[i]) end
	out[7] = (redis.call('HGET', KEYS[7], 'paused') == '1') and 1 or 0
	return out
end
if op == 'get' then
	local f = redis.call('HMGET', P .. id, 'att', 'max', 'err', 'ws')
	if not f[4] then return { '', 0, 0, 0, '' } end
	local names = { 'waiting', 'delayed', 'active', 'completed', 'failed', 'dead' }
	for i = 1, 6 do
		local s = redis.call('ZSCORE', KEYS[i], id)
		if s then
			local due = 0
			if i == 2 or i == 3 then due = s end
			return { names[i], f[1] or '0', f[2], due, f[3] or '' }
		end
	end
	return { 'unknown', f[1] or '0', f[2], 0, f[3] or '' }
end
local ids
if id == '' then
	ids = redis.call('ZRANGE', KEYS[6], 0, 9999)
elseif redis.call('ZSCORE', KEYS[6], id) then
	ids = { id }
else
	return -1
end
for _, j in ipairs(ids) do
	redis.call('ZREM', KEYS[6], j)
	if op == 'retry_dead' then
		local ws = redis.call('HGET', P .. j, 'ws')
		redis.call('HSET', P .. j, 'att', 0, 'tok', '')
		redis.call('ZADD', KEYS[1], ws, j)
	else
		redis.call('DEL', P .. j)
	end
end
return #ids
