-- A store's stock as one consistent picture with the id of the last change it includes.
--
-- KEYS: 1 onhand HASH, 2 reserved HASH, 3 stream
-- Returns {last stream id ("0-0" when none), onhand (HGETALL), reserved (HGETALL)}

local last = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)
local id = '0-0'
if #last > 0 then id = last[1][1] end
return {id, redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2])}
