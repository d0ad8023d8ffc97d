-- One atomic stock operation on one store's keys (sale, refund, void, receipt, adjustment, count,
-- transfer, reservation). Exactly once by operation id; all items or none.
--
-- KEYS: 1 onhand HASH, 2 reserved HASH, 3 op record HASH, 4 stream, 5 aux HASH (transfer/reservation/
--       sale refunds; any key of the store when unused), 6 reservation expiry ZSET, 7 the store's rebuild
--       gate (lib/maintenance/maintenance.c: while it exists, every operation is refused)
-- ARGV: 1 op id, 2 op type, 3 result (returned to duplicates), 4 event (re-produced by retries),
--       5 ttl seconds, 6 stream maxlen, 7 pub/sub channel, 8 aux mode, 9 aux expiry ms, 10 item count,
--       then 6 per item: sku, mode, qty, deny (1|0), low-stock threshold, aux field
--
-- item modes: sell (on hand -qty; available must cover it when deny), add (+qty), adjust (+qty, may be
--   negative; on hand may not go below 0 when deny), count (on hand := qty), reserve (reserved +qty;
--   available must cover it), unreserve (reserved -qty), none (aux only)
-- aux modes: "" none, sold (aux[field] := qty: a sale's lines), refund (aux[field] counts refunded
--   units; it may not pass aux["s"..field] sold), xin_add (units in transit +qty), xin_take (-qty, may not
--   go below 0), resv_add (held +qty, "_exp" := expiry), resv_take (held -qty, not below 0)
--
-- aux mode "dup_only": answer for an existing operation, never apply anything.
-- Returns {"busy"} (the store is being rebuilt: retry later) | {"dup", state, result, event} | {"gone"} | {"short", sku, available} | {"bad", message} |
--         {"ok", stream id, on_hand1, reserved1, delta1, low1, ... [, event]}
-- An operation with a "count" item sets stock absolutely: its delta is known only here, so the event's
-- payload gets "changes" ([sku, on_hand, reserved, delta]...) and the final event is returned last.

if redis.call('EXISTS', KEYS[7]) == 1 then return {'busy'} end
local op = redis.call('HMGET', KEYS[3], 'state', 'result', 'event')
if op[1] then
  if op[1] == 'pending' then redis.call('HINCRBY', KEYS[3], 'inflight', 1) end
  return {'dup', op[1], op[2], op[3]}
end
-- A caller that only wants an existing operation's answer never creates one.
if ARGV[8] == 'dup_only' then return {'gone'} end

local n = tonumber(ARGV[10])
local auxmode = ARGV[8]
local items = {}
local on, res = {}, {}      -- running values per sku, so repeated skus aggregate
local avail0 = {}           -- available before this operation, for the refusal message
local auxv = {}             -- running aux values per field

local function num(v) return tonumber(v) or 0 end

for i = 1, n do
  local b = 10 + (i - 1) * 6
  local it = {sku = ARGV[b + 1], mode = ARGV[b + 2], qty = tonumber(ARGV[b + 3]), deny = ARGV[b + 4] == '1',
              low = tonumber(ARGV[b + 5]), field = ARGV[b + 6]}
  items[i] = it
  local s = it.sku
  if on[s] == nil then
    on[s] = num(redis.call('HGET', KEYS[1], s))
    res[s] = num(redis.call('HGET', KEYS[2], s))
    it.before_avail = on[s] - res[s]
    avail0[s] = it.before_avail
  end
  it.start_on = on[s]
  local q = it.qty
  if it.mode == 'sell' then
    if it.deny and on[s] - res[s] < q then return {'short', s, tostring(avail0[s])} end
    on[s] = on[s] - q
  elseif it.mode == 'add' then
    on[s] = on[s] + q
  elseif it.mode == 'adjust' then
    if q < 0 and it.deny and on[s] + q < 0 then return {'bad', 'adjustment of ' .. q .. ' would leave ' .. s .. ' below zero (on hand ' .. on[s] .. ')'} end
    on[s] = on[s] + q
  elseif it.mode == 'count' then
    on[s] = q
  elseif it.mode == 'reserve' then
    if on[s] - res[s] < q then return {'short', s, tostring(avail0[s])} end
    res[s] = res[s] + q
  elseif it.mode == 'unreserve' then
    if res[s] < q then return {'bad', 'cannot release ' .. q .. ' of ' .. s .. ': only ' .. res[s] .. ' reserved'} end
    res[s] = res[s] - q
  elseif it.mode ~= 'none' then
    return {'bad', 'unknown item mode ' .. it.mode}
  end
  if auxmode ~= '' then
    local f = it.field
    if auxv[f] == nil then auxv[f] = num(redis.call('HGET', KEYS[5], f)) end
    if auxmode == 'sold' then
      auxv[f] = q
    elseif auxmode == 'refund' then
      local sold = num(redis.call('HGET', KEYS[5], 's' .. f))
      if auxv[f] + q > sold then return {'bad', 'line ' .. f .. ' (' .. s .. '): ' .. (sold - auxv[f]) .. ' left to refund, asked ' .. q} end
      auxv[f] = auxv[f] + q
    elseif auxmode == 'xin_add' or auxmode == 'resv_add' then
      auxv[f] = auxv[f] + q
    elseif auxmode == 'xin_take' or auxmode == 'resv_take' then
      if auxv[f] < q then
        local what = auxmode == 'xin_take' and 'in transit' or 'held by the reservation'
        return {'bad', s .. ': ' .. auxv[f] .. ' ' .. what .. ', asked ' .. q}
      end
      auxv[f] = auxv[f] - q
    end
  end
end

-- Every check passed: write, and remember how to undo it.
local undo = {}
local changes = {}
local out = {'ok', ''}
local written = {}
for i = 1, n do
  local it = items[i]
  local s = it.sku
  if not written[s] then
    written[s] = true
    local old_on = num(redis.call('HGET', KEYS[1], s))
    local old_res = num(redis.call('HGET', KEYS[2], s))
    if on[s] ~= old_on then
      redis.call('HSET', KEYS[1], s, on[s])
      undo[#undo + 1] = {1, s, old_on - on[s]}
    end
    if res[s] ~= old_res then
      redis.call('HSET', KEYS[2], s, res[s])
      undo[#undo + 1] = {2, s, old_res - res[s]}
    end
    changes[#changes + 1] = {s, on[s], res[s], on[s] - old_on}
  end
end
if auxmode ~= '' then
  for f, v in pairs(auxv) do
    local old = num(redis.call('HGET', KEYS[5], f))
    if auxmode == 'sold' then
      redis.call('HSET', KEYS[5], 's' .. f, v)
      undo[#undo + 1] = {5, 's' .. f, -v}
    elseif v ~= old then
      redis.call('HSET', KEYS[5], f, v)
      undo[#undo + 1] = {5, f, old - v}
    end
  end
  if auxmode == 'resv_add' then
    redis.call('HSET', KEYS[5], '_exp', ARGV[9])
    redis.call('ZADD', KEYS[6], ARGV[9], ARGV[1])
  end
end
for i = 1, n do
  local it = items[i]
  local s = it.sku
  local avail = on[s] - res[s]
  local crossed = 0
  if it.before_avail ~= nil and it.low > 0 and it.before_avail > it.low and avail <= it.low then crossed = 1 end
  out[#out + 1] = on[s]
  out[#out + 1] = res[s]
  out[#out + 1] = on[s] - it.start_on
  out[#out + 1] = crossed
end

local event = ARGV[4]
local patched = false
for i = 1, n do
  if items[i].mode == 'count' and event ~= '' then patched = true end
end
if patched then
  local ev = cjson.decode(event)
  ev.payload.changes = changes
  event = cjson.encode(ev)
end
local id = redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[6], '*', 'op', ARGV[1], 'type', ARGV[2],
                      'changes', cjson.encode(changes))
out[2] = id
redis.call('HSET', KEYS[3], 'state', 'pending', 'result', ARGV[3], 'event', event, 'inflight', 1,
           'undo', cjson.encode(undo), 'aux', KEYS[5], 'type', ARGV[2])
if patched then out[#out + 1] = event end
redis.call('EXPIRE', KEYS[3], ARGV[5])
redis.call('PUBLISH', ARGV[7], id)
return out
