-- The rebuild gate of a store (lib/maintenance/rebuild.c): a lease that stock_apply.lua respects by refusing every
-- operation of the store while it exists.
--
-- KEYS: 1 rs:{s:S}:rebuild
-- ARGV: 1 "take" | "refresh" | "release", 2 the lease token, 3 lease ms (take, refresh)
-- Returns 1 when done, 0 when the gate is held by another token (take) or no longer by this one.
local cur = redis.call('GET', KEYS[1])
if ARGV[1] == 'take' then
  if cur then return 0 end
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
if cur ~= ARGV[2] then return 0 end
if ARGV[1] == 'refresh' then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
else
  redis.call('DEL', KEYS[1])
end
return 1
