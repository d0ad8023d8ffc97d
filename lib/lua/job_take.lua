-- Takes up to n due jobs under a lease. On the way: due delayed jobs move to waiting, and jobs whose
-- lease expired (their worker died) move back to waiting, or to dead after their last attempt.
-- KEYS: 1 wait, 2 delayed, 3 active, 4 completed, 5 failed, 6 dead, 7 meta
-- ARGV: 1 job key prefix, 2 n, 3 lease_ms, 4 token prefix (the taker's; "<prefix>.<seq>" per job)
-- Returns 6 values per job: id payload attempt max_attempts due_ms repeat_name, and the tokens last.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local P = ARGV[1]
local function wscore(prio, seq)
	return string.format('%.0f', (1000 - tonumber(prio)) * 1099511627776 + tonumber(seq) % 1099511627776)
end
local function trim(key, keep_field, default)
	local keep = tonumber(redis.call('HGET', KEYS[7], keep_field) or default)
	local over = redis.call('ZCARD', key) - keep
	if over > 0 then
		local old = redis.call('ZPOPMIN', key, over)
		for i = 1, #old, 2 do redis.call('DEL', P .. old[i]) end
	end
end

local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 1000)
for _, id in ipairs(due) do
	local f = redis.call('HMGET', P .. id, 'prio', 'seq')
	redis.call('ZREM', KEYS[2], id)
	if f[2] then
		redis.call('ZADD', KEYS[1], wscore(f[1], f[2]), id)
		redis.call('HSET', P .. id, 'state', 'waiting')
	end
end

local lost = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, 1000)
for _, id in ipairs(lost) do
	local jk = P .. id
	local f = redis.call('HMGET', jk, 'att', 'max', 'prio', 'seq')
	redis.call('ZREM', KEYS[3], id)
	if f[1] then
		local err = 'lease expired during attempt ' .. f[1] .. ' (the worker stopped renewing it)'
		if tonumber(f[1]) >= tonumber(f[2]) then
			redis.call('HSET', jk, 'state', 'dead', 'tok', '', 'err', err, 'fin', now)
			redis.call('ZADD', KEYS[6], now, id)
		else
			redis.call('HSET', jk, 'state', 'waiting', 'tok', '', 'err', err)
			redis.call('ZADD', KEYS[1], wscore(f[3], f[4]), id)
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
	local tseq = redis.call('HINCRBY', KEYS[7], 'tokseq', #popped / 2)
	for i = 1, #popped, 2 do
		local id = popped[i]
		local jk = P .. id
		local f = redis.call('HMGET', jk, 'payload', 'att', 'max', 'exp', 'rep', 'due')
		if f[1] then
			local exp = tonumber(f[4])
			if exp > 0 and exp <= now then
				redis.call('HSET', jk, 'state', 'failed', 'err', 'expired: not started within its time-to-live', 'fin', now)
				redis.call('ZADD', KEYS[5], now, id)
				expired = true
			else
				local att = tonumber(f[2]) + 1
				local tok = ARGV[4] .. '.' .. (tseq - #popped / 2 + (i + 1) / 2)
				redis.call('HSET', jk, 'state', 'active', 'att', att, 'tok', tok, 'started', now)
				redis.call('ZADD', KEYS[3], now + tonumber(ARGV[3]), id)
				out[#out + 1] = id
				out[#out + 1] = f[1]
				out[#out + 1] = att
				out[#out + 1] = f[3]
				out[#out + 1] = f[6]
				out[#out + 1] = f[5]
				toks[#toks + 1] = tok
			end
		end
	end
end
if expired then trim(KEYS[5], 'keep_failed', 10000) end
for _, tok in ipairs(toks) do out[#out + 1] = tok end
return out
