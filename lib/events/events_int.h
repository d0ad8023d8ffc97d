/* The event envelope (DESIGN.md "Events and topics") and producing events to Kafka. */
#ifndef REDSTORE_LIB_EVENT_H
#define REDSTORE_LIB_EVENT_H

#include "engines/engines_int.h"

#include <cjson/cJSON.h>

#define REDSTORE_EVENT_SCHEMA_VERSION REDSTORE_EVENT_SCHEMA

/* Topic domains: the topic is kafka.topic_prefix + domain. */
#define REDSTORE_DOMAIN_SALES "sales"
#define REDSTORE_DOMAIN_INVENTORY "inventory"
#define REDSTORE_DOMAIN_CATALOG "catalog"
#define REDSTORE_DOMAIN_SHIFTS "shifts"
#define REDSTORE_DOMAIN_AUDIT "audit"

/* Encodes the envelope: {id, type, schema_version, store_id, terminal_id, employee_id, occurred_at,
 * recorded_at, payload}. Times are RFC 3339 UTC with milliseconds. `payload` is borrowed. The terminal
 * and employee come from the client; `store` is the store the event belongs to (NULL: the client's
 * selected store). Returns a malloc'ed string or NULL (ENOMEM set). */
char *redstore__event_encode(redstore_client *c, const char *store, const char *id, const char *type,
                             int64_t occurred_at_ms, const cJSON *payload);

/* Encodes and produces one event to <prefix><domain>, keyed by the store id, and waits for the brokers'
 * acknowledgement. `id` is the event id (the operation's idempotency id, so a retried operation yields
 * the same event). Returns 0 or the producer's error (see redstore__kafka_produce_sync). */
int redstore__event_emit(redstore_client *c, const char *domain, const char *id, const char *type,
                         const cJSON *payload);
/* The same for an event of another store than the selected one (keyed and enveloped by `store`). */
int redstore__event_emit_for(redstore_client *c, const char *store, const char *domain, const char *id,
                             const char *type, const cJSON *payload);

/* What waits in the consumer's queue, not yet served by redstore_consumer_poll(): messages and
 * rebalance callbacks (tests use it to catch a rebalance that started while nobody polled). */
size_t redstore__consumer_queued(redstore_consumer *k);

/* Formats milliseconds since the epoch as "2026-11-25T10:31:06.123Z" (buf >= 32 bytes). */
const char *redstore__rfc3339(char *buf, size_t cap, int64_t ms);

#endif
