-- catalog_put (lib/catalog/catalog.c): writes one product's cache hash, unless the cache already holds a newer
-- version of it, and keeps the store's barcode index in step. Writers and cache refills both go through
-- here, so a slow refill or a delayed writer can never put an older version over a newer one.
--
-- KEYS[1] rs:{s:S}:p:<sku>   KEYS[2] rs:{s:S}:bc
-- ARGV[1] sku  ARGV[2] version  ARGV[3] barcode ("" = none)
-- ARGV[4] the barcode the product had before this change, as PostgreSQL knew it ("" = none or unknown)
-- ARGV[5..] field, value pairs: the whole hash
-- Returns 1 when written, 0 when the cache already held a newer version.
local cur = tonumber(redis.call('HGET', KEYS[1], 'ver') or '')
if cur and cur > tonumber(ARGV[2]) then
  return 0
end
local cached = redis.call('HGET', KEYS[1], 'barcode') or ''
for _, old in ipairs({ cached, ARGV[4] }) do
  if old ~= '' and old ~= ARGV[3] and redis.call('HGET', KEYS[2], old) == ARGV[1] then
    redis.call('HDEL', KEYS[2], old)
  end
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[2], ARGV[3], ARGV[1])
end
return 1
