/* Shared by the maintenance calls (lib/maintenance/maintenance.c, lib/maintenance/rebuild.c): a store's position in the log. */
#ifndef REDSTORE_LIB_MAINTENANCE_H
#define REDSTORE_LIB_MAINTENANCE_H

#include "engines/engines_int.h"

/* The two topics whose events change stock: <prefix>sales and <prefix>inventory. */
#define REDSTORE__LOG_TOPICS 2

/* A store's partition of each stock topic, with the group's committed offsets and the watermarks. */
typedef struct redstore__log_pos {
	char topic[REDSTORE__LOG_TOPICS][160];
	int32_t partition[REDSTORE__LOG_TOPICS];
	int64_t committed[REDSTORE__LOG_TOPICS];   /* -1: the group has committed nothing there */
	int64_t low[REDSTORE__LOG_TOPICS], high[REDSTORE__LOG_TOPICS];
} redstore__log_pos;

/* Resolved options: group id and the wait bound. */
typedef struct redstore__mopts {
	char group[256];
	int wait_ms;
} redstore__mopts;

int redstore__mopts_resolve(redstore__mopts *out, const redstore_maintenance_options *o, const char *what);

/* A consumer handle carrying `group` as group.id that never subscribes (it reads committed offsets and
 * is assigned partitions explicitly; it never joins the group). Free with redstore__log_close. */
int redstore__log_open(rd_kafka_t **out, const redstore_client *c, const char *group);
void redstore__log_close(rd_kafka_t *rk);

/* Fills the topics, the store's partitions, the committed offsets (refresh_committed) and the watermarks. */
int redstore__log_positions(redstore__log_pos *p, rd_kafka_t *rk, const redstore_client *c, const char *store,
                            int timeout_ms);

/* Called for every message of the range (store filtering is the caller's). Returns 0 to go on. */
typedef int (*redstore__log_fn)(const void *data, size_t len, void *payload);

/* Reads every message of each partition from its start offset (committed, or the low watermark when the
 * group has committed nothing or retention removed it) up to p->high, before the deadline. */
int redstore__log_read(rd_kafka_t *rk, const redstore__log_pos *p, int64_t deadline_us, redstore__log_fn fn,
                       void *payload);

#endif
