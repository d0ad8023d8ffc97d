-- The last step of a cache rebuild (lib/maintenance/rebuild.c), atomic: the rebuilt counters replace the live ones,
-- the store's sync stream says so (terminals resync), and the gate is released. Nothing happens unless
-- the caller still holds the gate's lease: operations may have run since it expired.
--
-- KEYS: 1 gate, 2 rebuilt onhand, 3 rebuilt reserved, 4 onhand, 5 reserved, 6 stream
-- ARGV: 1 lease token, 2 stream maxlen, 3 pub/sub channel
-- Returns the stream id of the "cache.rebuilt" entry, or "" when the lease was lost (the rebuilt keys
-- are deleted then).
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  redis.call('DEL', KEYS[2], KEYS[3])
  return ''
end
for i = 2, 3 do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('RENAME', KEYS[i], KEYS[i + 2])
  else
    redis.call('DEL', KEYS[i + 2])
  end
end
-- The entry's op is the rebuild's token (a UUID, worthless once the gate is gone); sync readers take a
-- "cache.rebuilt" entry as "reload everything" (redstore_sync_snapshot).
local id = redis.call('XADD', KEYS[6], 'MAXLEN', '~', ARGV[2], '*', 'op', ARGV[1], 'type', 'cache.rebuilt',
                      'changes', '[]')
redis.call('PUBLISH', ARGV[3], id)
redis.call('DEL', KEYS[1])
return id
