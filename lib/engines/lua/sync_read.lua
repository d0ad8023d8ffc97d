-- Reads a store's sync stream after a given id, or says the reader must resync from a snapshot.
--
-- KEYS: 1 stream
-- ARGV: 1 after id ("0" = from the start), 2 count
-- Returns {resync (0|1), entries}, entries as XRANGE gives them. resync = 1 when entries were trimmed
-- from the stream's head (entries-added > length) and `after` is older than the first entry kept: what
-- came between may be gone.

local function older(a, b)
  local am, as = string.match(a, '^(%d+)-?(%d*)$')
  local bm, bs = string.match(b, '^(%d+)-?(%d*)$')
  am, bm = tonumber(am), tonumber(bm)
  if am ~= bm then return am < bm end
  return (tonumber(as) or 0) < (tonumber(bs) or 0)
end

if redis.call('EXISTS', KEYS[1]) == 0 then return {0, {}} end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local f = {}
for i = 1, #info, 2 do f[info[i]] = info[i + 1] end
local first = f['first-entry']
if first and first ~= false and tonumber(f['entries-added'] or f['length']) > tonumber(f['length'])
   and older(ARGV[1], first[1]) then
  return {1, {}}
end
local from = '-'
if ARGV[1] ~= '0' and ARGV[1] ~= '0-0' then from = '(' .. ARGV[1] end
return {0, redis.call('XRANGE', KEYS[1], from, '+', 'COUNT', ARGV[2])}
