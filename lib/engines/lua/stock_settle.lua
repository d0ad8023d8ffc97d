-- Settles one attempt of a pending operation after its event was produced (or definitely not).
--
-- KEYS: 1 onhand, 2 reserved, 3 op record, 4 stream, 5 aux (as recorded), 6 reservation expiry ZSET
-- ARGV: 1 op id, 2 "confirm" | "undo" | "abandon", 3 stream maxlen, 4 pub/sub channel
--
-- confirm: the event is in Kafka: state := done.
-- abandon: this attempt ended not knowing whether its event reached Kafka: the operation stays pending
--   (its stock stays taken) until a retry with the same id re-produces the event and confirms. The record
--   remembers it ("maybe"): from then on no attempt may undo the operation, since that event may be in
--   Kafka (a consumer would project a sale whose stock Redis gave back).
-- undo: this attempt's event definitely never reached Kafka. When no other attempt is in flight, none
--   confirmed and none ended not knowing, every change of the operation is reversed and its record
--   deleted, so a retry with the same id starts afresh.
-- Returns "done" | "undone" | "pending" (another attempt is in flight) | "gone" (no record).
local st = redis.call('HMGET', KEYS[3], 'state', 'inflight', 'undo', 'type', 'maybe')
if not st[1] then return 'gone' end
local inflight = tonumber(st[2]) or 0
if inflight > 0 then inflight = inflight - 1 end
if ARGV[2] == 'confirm' then
  redis.call('HSET', KEYS[3], 'state', 'done', 'inflight', inflight)
  return 'done'
end
if st[1] == 'done' then
  redis.call('HSET', KEYS[3], 'inflight', inflight)
  return 'done'
end
if ARGV[2] == 'abandon' then
  redis.call('HSET', KEYS[3], 'inflight', inflight, 'maybe', 1)
  return 'pending'
end
if inflight > 0 or st[5] then
  redis.call('HSET', KEYS[3], 'inflight', inflight)
  return 'pending'
end
local changes = {}
for _, u in ipairs(cjson.decode(st[3])) do
  local key = KEYS[u[1]]
  local v = redis.call('HINCRBY', key, u[2], u[3])
  if u[1] == 1 then
    changes[#changes + 1] = {u[2], v, tonumber(redis.call('HGET', KEYS[2], u[2])) or 0, u[3]}
  elseif u[1] == 2 then
    changes[#changes + 1] = {u[2], tonumber(redis.call('HGET', KEYS[1], u[2])) or 0, v, 0}
  end
end
redis.call('ZREM', KEYS[6], ARGV[1])
redis.call('DEL', KEYS[3])
if #changes > 0 then
  local id = redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[3], '*', 'op', ARGV[1], 'type', 'undo.' .. st[4],
                        'changes', cjson.encode(changes))
  redis.call('PUBLISH', ARGV[4], id)
end
return 'undone'
