/* The client's internals: its resolved configuration, its engine connections and who acts (lib/engines/client.c). */
#ifndef REDSTORE_CLIENT_INT_H
#define REDSTORE_CLIENT_INT_H

#include "core/core_int.h"

#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>

struct redstore_client {
	redstore_config *cfg;     /* the client's own copy, never changed after creation */
	redstore__settings set;   /* cfg resolved into typed fields at creation: what every call reads */
	redisContext *redis;
	PGconn *pg;
	char pg_scope[65];        /* "" = pg runs as the service; else as redstore_store in this store (row-level
	                           * security): the attached session's store, set through redstore__pg_set_scope */
	bool pg_scoped;           /* the open connection has pg_scope applied */
	rd_kafka_t *producer;
	char (*script_sha)[41];   /* SHA1 of each embedded Lua script once loaded, "" before */
	int64_t redis_epoch;      /* bumped on every new Redis connection */
	char store[65];           /* the selected store ("" = none) */
	char terminal[65];        /* who acts: recorded in events */
	char employee[65];
	struct redstore__auth *auth; /* the attached employee session (lib/security/auth.c), NULL = the service */
	void (*auth_free)(struct redstore__auth *); /* frees `auth`: set with it by the security area */
	struct redstore_committer *committer; /* blocking commits go through it (lib/stock/commit.c), or NULL */
};

/* Selects `store` (already validated); safe when `store` points into c->store itself. */
void redstore__set_store(redstore_client *c, const char *store);

/* The selected store, or REDSTORE_EINVALID "no store selected" naming the operation. */
int redstore__need_store(const char **out, redstore_client *c, const char *what);

#endif
