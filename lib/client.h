/* The client's internals and the per-engine helpers every area uses. */
#ifndef REDSTORE_LIB_CLIENT_H
#define REDSTORE_LIB_CLIENT_H

#include "config.h"

#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>

struct redstore_client {
	redstore_config *cfg;
	redisContext *redis;
	PGconn *pg;
	bool pg_scoped;           /* pg runs as redstore_store in a store (an attached session's), not as the service */
	rd_kafka_t *producer;
	char (*script_sha)[41];   /* SHA1 of each embedded Lua script once loaded, "" before */
	int64_t redis_epoch;      /* bumped on every new Redis connection */
	char store[65];           /* the selected store ("" = none) */
	char terminal[65];        /* who acts: recorded in events */
	char employee[65];
	struct redstore__auth *auth; /* the attached employee session (lib/auth.c), NULL = the service */
};

/* Selects `store` (already validated); safe when `store` points into c->store itself. */
void redstore__set_store(redstore_client *c, const char *store);

/* The selected store, or REDSTORE_EINVALID "no store selected" naming the operation. */
int redstore__need_store(const char **out, redstore_client *c, const char *what);

/* ------------------------------------------------------------ Redis (lib/redis.c) */

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

/* ------------------------------------------------------------ PostgreSQL (lib/pg.c) */

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
/* A result cell as an integer (decimal text); NULL is 0. */
int64_t redstore__pg_int(const PGresult *res, int row, int col);

/* ------------------------------------------------------------ Kafka (lib/kafka.c) */

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
const char *redstore__kafka_topic(char *buf, size_t cap, const redstore_config *cfg, const char *domain);
/* Maps a librdkafka error to a redstore code (retriable ones to ETIMEOUT/EUNAVAILABLE). */
int redstore__kafka_err(rd_kafka_resp_err_t err);
int redstore__kafka_health(redstore_engine_health *h, redstore_client *c);
void redstore__kafka_drop(redstore_client *c);

#endif
