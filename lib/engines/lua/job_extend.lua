-- Renews the leases of taken jobs whose token still matches.
-- KEYS: 3 active (the same 7 keys as the other job scripts)
-- ARGV: 1 job key prefix, 2 lease_ms, then pairs: id token. Returns 1 (renewed) or 0 (lost) per job.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for a = 3, #ARGV, 2 do
	local id = ARGV[a]
	if redis.call('HGET', ARGV[1] .. id, 'tok') == ARGV[a + 1] and redis.call('ZSCORE', KEYS[3], id) then
		redis.call('ZADD', KEYS[3], 'XX', now + tonumber(ARGV[2]), id)
		out[#out + 1] = 1
	else
		out[#out + 1] = 0
	end
end
return out
