-- Takes up to n due jobs under a lease. On the way: due delayed jobs move to waiting, and jobs whose
-- lease expired (their worker died) move back to waiting, or to dead after their last attempt.
-- KEYS: 1 wait, 2 delayed, 3 active, 4 completed, 5 failed, 6 dead, 7 meta
-- ARGV: 1 job key prefix, 2 n, 3 lease_ms, 4 token prefix (the taker's; "<prefix>.<seq>" per job)
-- Returns 6 values per job: id payload attempt max_attempts due_ms repeat_name, then the tokens.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local P = ARGV[1]

local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 1000)
for _, id in ipairs(due) do
	local ws = redis.call('HGET', P .. id, 'ws')
	redis.call('ZREM', KEYS[2], id)
	if ws then
		redis.call('ZADD', KEYS[1], ws, id)
	end
end

local lost = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, 1000)
for _, id in ipairs(lost) do
	local jk = P .. id
	local f = redis.call('HMGET', jk, 'att', 'max', 'ws')
	redis.call('ZREM', KEYS[3], id)
	if f[3] then
		local err = 'lease expired during attempt ' .. (f[1] or '0') .. ' (the worker stopped renewing it)'
		redis.call('HSET', jk, 'err', err)
		if tonumber(f[1] or 0) >= tonumber(f[2]) then
			redis.call('ZADD', KEYS[6], now, id)
		else
			redis.call('ZADD', KEYS[1], f[3], id)
		end
	end
end

if redis.call('HGET', KEYS[7], 'paused') == '1' then return {} end

local out, toks = {}, {}
local want = tonumber(ARGV[2])
local expired = false
while #toks < want do
	local popped = redis.call('ZPOPMIN', KEYS[1], want - #toks)
	if #popped == 0 then break end
	local tseq = redis.call('HINCRBY', KEYS[7], 'tokseq', #popped / 2) - #popped / 2
	for i = 1, #popped, 2 do
		local id = popped[i]
		local jk = P .. id
		local f = redis.call('HMGET', jk, 'payload', 'att', 'max', 'exp', 'rep', 'due')
		if f[1] then
			if f[4] and tonumber(f[4]) <= now then
				redis.call('HSET', jk, 'err', 'expired: not started within its time-to-live')
				redis.call('ZADD', KEYS[5], now, id)
				expired = true
			else
				local att = tonumber(f[2] or 0) + 1
				local tok = ARGV[4] .. '.' .. string.format('%.0f', tseq + (i + 1) / 2)
				redis.call('HSET', jk, 'att', att, 'tok', tok)
				redis.call('ZADD', KEYS[3], now + tonumber(ARGV[3]), id)
				out[#out + 1] = id
				out[#out + 1] = f[1]
				out[#out + 1] = att
				out[#out + 1] = f[3]
				out[#out + 1] = f[6] or 0
				out[#out + 1] = f[5] or ''
				toks[#toks + 1] = tok
			end
		end
	end
end
if expired then
	local keep = tonumber(redis.call('HGET', KEYS[7], 'keep_failed') or 10000)
	local over = redis.call('ZCARD', KEYS[5]) - keep
	if over > 0 then
		local old = redis.call('ZPOPMIN', KEYS[5], over)
		for i = 1, #old, 2 do redis.call('DEL', P .. old[i]) end
	end
end
for _, tok in ipairs(toks) do out[#out + 1] = tok end
return out
