/*
 * lib/engines: the clients of the three engines (Redis, PostgreSQL, Kafka), schema migrations and the
 * embedded Lua scripts and SQL. Above lib/core, below every domain area. The engine layer takes plain
 * data (a store id, a row-level-security scope, a topic name): it never calls up into a domain area.
 * This is the face every area above includes.
 */
#ifndef REDSTORE_ENGINES_INT_H
#define REDSTORE_ENGINES_INT_H

#include "engines/client_int.h"

/* ------------------------------------------------------------ Redis (lib/engines/redis.c) */

/* Connects lazily. Returns 0, REDSTORE_ECONNECT or REDSTORE_EREDIS (AUTH/SELECT refused). */
int redstore__redis_connect(redstore_client *c);
/* Runs one command; on success *out holds a reply that is not an error (free with freeReplyObject).
 * A Redis error reply gives REDSTORE_EREDIS with its text; I/O failure drops the connection and gives
 * REDSTORE_ECONNECT or REDSTORE_ETIMEOUT. `out` may be NULL to discard the reply. */
int redstore__redis_cmd(redisReply **out, redstore_client *c, const char *fmt, ...);
int redstore__redis_argv(redisReply **out, redstore_client *c, int argc, const char **argv, const size_t *lens);
/* Runs an embedded Lua script by name with EVALSHA (loading it on NOSCRIPT). */
int redstore__redis_script(redisReply **out, redstore_client *c, const char *name, int nkeys, int argc,
                           const char **argv, const size_t *lens);
/* Appends an EVALSHA of an embedded script to the pipeline (loading the script first if needed). A
 * NOSCRIPT reply (scripts flushed in between) must be retried with redstore__redis_script. */
int redstore__redis_script_append(redstore_client *c, const char *name, int nkeys, int argc, const char **argv,
                                  const size_t *lens);
/* Pipelining: append commands, then read each reply in order. */
int redstore__redis_append_argv(redstore_client *c, int argc, const char **argv, const size_t *lens);
int redstore__redis_read(redisReply **out, redstore_client *c);
void redstore__redis_drop(redstore_client *c);
/* Maps a failed hiredis context to a redstore error and drops it. */
int redstore__redis_io_error(redstore_client *c, const char *what);

/* ------------------------------------------------------------ PostgreSQL (lib/engines/pg.c) */

int redstore__pg_connect(redstore_client *c);
/* Runs one parameterized statement (text parameters, text results) within database.command_timeout_ms.
 * On success *out is a PGresult with status COMMAND_OK or TUPLES_OK (free with PQclear); `out` may be
 * NULL. A server error gives REDSTORE_EDB (unique violation: REDSTORE_EEXISTS) with the server's message;
 * a lost connection REDSTORE_ECONNECT; the deadline REDSTORE_ETIMEOUT. */
int redstore__pg_exec(PGresult **out, redstore_client *c, const char *sql, int nparams, const char *const *params);
/* Runs a multi-statement script without parameters (migrations). */
int redstore__pg_script(redstore_client *c, const char *sql);
/* Runs `COPY <table> FROM STDIN` (text format) with `data` as its whole input. */
int redstore__pg_copy_in(redstore_client *c, const char *sql, const char *data, size_t len);
void redstore__pg_drop(redstore_client *c);
/* Scopes the client's PostgreSQL work to `store` (SET ROLE redstore_store, redstore.store_id = store, so
 * row-level security applies), or gives it back to the service with "" or NULL. The open connection is
 * changed now (closed when that fails: the next statement connects afresh), a new one when it connects.
 * A connection is never used for one scope with the settings of another. */
void redstore__pg_set_scope(redstore_client *c, const char *store);
/* Builds a PostgreSQL array literal of text ("{\"a\",\"b\",NULL}") from n strings (NULL -> NULL).
 * Returns a malloc'ed string or NULL (ENOMEM set). */
char *redstore__pg_text_array(const char *const *items, size_t n);
/* Rolls back the current transaction, keeping this thread's last error. */
void redstore__pg_rollback(redstore_client *c);
/* A result cell as an integer (decimal text); NULL is 0. */
int64_t redstore__pg_int(const PGresult *res, int row, int col);

/* ------------------------------------------------------------ Kafka (lib/engines/kafka.c) */

/* The delivery report of one produced message: pass its address as the message's opaque; the
 * producer's delivery callback fills it (on the thread that polls). */
typedef struct redstore__delivery {
	bool done;
	rd_kafka_resp_err_t err;
	bool maybe_written;   /* failed, but may nevertheless have been written (ambiguous) */
} redstore__delivery;

/* Creates the producer lazily (idempotent, acks=all). REDSTORE_EINVALID when kafka.brokers is empty. */
int redstore__kafka_producer(rd_kafka_t **out, redstore_client *c);
/* Builds a librdkafka configuration with the common keys (bootstrap, client id, timeouts). */
int redstore__kafka_conf(rd_kafka_conf_t **out, const redstore_config *cfg);
/* Produces one message and waits for the brokers' acknowledgement (bounded by
 * kafka.delivery_timeout_ms). Returns 0, REDSTORE_ETIMEOUT / REDSTORE_EUNAVAILABLE (retriable; the
 * message may or may not have been written) or REDSTORE_EKAFKA. */
int redstore__kafka_produce_sync(redstore_client *c, const char *topic, const char *key, const void *value,
                                 size_t len);
/* Same, and tells whether a failed message may nevertheless have been written (ambiguous failure:
 * a timeout after sending) or definitely was not (never sent, or refused). */
int redstore__kafka_produce_sync2(redstore_client *c, const char *topic, const char *key, const void *value,
                                  size_t len, bool *maybe_written);
/* The general form: any key bytes, optional headers (taken over by librdkafka, freed on failure too). */
int redstore__kafka_produce_with(redstore_client *c, const char *topic, const void *key, size_t keylen,
                                 const void *value, size_t len, rd_kafka_headers_t *headers, bool *maybe_written);
/* Full topic name: prefix + domain. Writes into buf (size >= 128). */
const char *redstore__kafka_topic(char *buf, size_t cap, const redstore__settings *set, const char *domain);
/* redstore_store_partition with the partition map given ("" = none): the producer's partitioner. */
int redstore__store_partition(int32_t *out, const char *map, const char *store_id, int32_t partition_count);
/* Maps a librdkafka error to a redstore code (retriable ones to ETIMEOUT/EUNAVAILABLE). */
int redstore__kafka_err(rd_kafka_resp_err_t err);
int redstore__kafka_health(redstore_engine_health *h, redstore_client *c);
void redstore__kafka_drop(redstore_client *c);

/* ------------------------------------------------------------ embedded SQL and Lua (cmake/embed.cmake) */

typedef struct redstore__embedded {
	int version;        /* migrations: the NNNN of NNNN_name.sql; scripts: index */
	const char *name;   /* file name without extension */
	const char *text;
} redstore__embedded;

extern const redstore__embedded redstore__migrations[];
extern const int redstore__migration_count;
extern const redstore__embedded redstore__lua_scripts[];
extern const int redstore__lua_script_count;


/* ------------------------------------------------------------ the Redis key layout

 * The Redis key layout. Every per-store key carries the hash tag {s:<store>}, so one store's keys share
 * a Redis Cluster slot and one Lua script can touch them all atomically.
 *
 *   rs:{s:S}:meta          HASH  store settings: name, currency, tz, incl (1 = prices include tax)
 *   rs:{s:S}:tax           HASH  tax class code -> rate in parts per million
 *   rs:{s:S}:p:<sku>       HASH  cached product: sku barcode name brand category price currency tax
 *                                policy (deny|allow) low active fav custom ver upd (ms of the last change);
 *                                written only by lib/engines/lua/catalog_put.lua, which never replaces a newer ver
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
 *   rs:{s:S}:rebuild       STRING the rebuild gate (lib/maintenance/rebuild.c): a lease token; while it exists every
 *                                stock operation of the store is refused (retriable)
 *   rs:{s:S}:rb:onhand     HASH  the counters a rebuild is building, renamed over the live ones in one
 *   rs:{s:S}:rb:reserved   HASH  Lua step (lib/engines/lua/rebuild_swap.lua)
 */

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
