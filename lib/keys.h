/*
 * The Redis key layout. Every per-store key carries the hash tag {s:<store>}, so one store's keys share
 * a Redis Cluster slot and one Lua script can touch them all atomically.
 *
 *   rs:{s:S}:meta          HASH  store settings: name, currency, tz, incl (1 = prices include tax)
 *   rs:{s:S}:tax           HASH  tax class code -> rate in parts per million
 *   rs:{s:S}:p:<sku>       HASH  cached product: sku barcode name brand category price currency tax
 *                                policy (deny|allow) low active fav custom ver upd (ms of the last change);
 *                                written only by lib/lua/catalog_put.lua, which never replaces a newer ver
 *   rs:{s:S}:bc            HASH  barcode -> sku
 *   rs:{s:S}:onhand        HASH  sku -> units on hand
 *   rs:{s:S}:reserved      HASH  sku -> units reserved
 *   rs:{s:S}:op:<id>       HASH  idempotency record of an operation (sale, receipt, adjustment...):
 *                                state (pending|done), result, undo, inflight
 *   rs:{s:S}:xin:<id>      HASH  inbound transfer <id>: sku -> units still in transit to this store
 *   rs:{s:S}:resv:<id>     HASH  reservation <id>: sku -> units held; field "_exp" = expiry ms
 *   rs:{s:S}:resvexp       ZSET  reservation id -> expiry ms
 *   rs:{s:S}:stream        STREAM the store's changes (bounded by sync.stream_maxlen)
 *   rs:{s:S}:changes       pub/sub channel: the stream id of every new entry
 *   rs:{s:S}:rebuild       STRING the rebuild gate (lib/rebuild.c): a lease token; while it exists every
 *                                stock operation of the store is refused (retriable)
 *   rs:{s:S}:rb:onhand     HASH  the counters a rebuild is building, renamed over the live ones in one
 *   rs:{s:S}:rb:reserved   HASH  Lua step (lib/lua/rebuild_swap.lua)
 */
#ifndef REDSTORE_KEYS_H
#define REDSTORE_KEYS_H

#include <stdio.h>

#define REDSTORE_KEY_MAX 200

/* Writes "rs:{s:<store>}:<suffix>" into buf (REDSTORE_KEY_MAX bytes) and returns buf. */
static inline const char *redstore__key(char *buf, const char *store, const char *suffix)
{
	snprintf(buf, REDSTORE_KEY_MAX, "rs:{s:%s}:%s", store, suffix);
	return buf;
}

/* Writes "rs:{s:<store>}:<kind>:<id>" into buf. */
static inline const char *redstore__key_id(char *buf, const char *store, const char *kind, const char *id)
{
	snprintf(buf, REDSTORE_KEY_MAX, "rs:{s:%s}:%s:%s", store, kind, id);
	return buf;
}

#endif
