/**
 * @file
 * libredstore: the PostgreSQL schema.
 *
 * The schema migrations are compiled into the library as versioned SQL (lib/engines/sql/NNNN_name.sql). They are
 * applied in order by redstore_db_migrate(), each inside one transaction under a PostgreSQL advisory lock,
 * so two migrators running at once are safe: the second waits, then finds nothing left to do.
 */
#ifndef REDSTORE_DB_H
#define REDSTORE_DB_H

#include "common.h"
#include "client.h"

REDSTORE_BEGIN_DECLS
REDSTORE_ASSUME_NONNULL_BEGIN

/**
 * Applies every migration that the database does not have yet, recording each in the
 * `schema_migrations` table. Idempotent.
 *
 * @param applied  optional: receives how many migrations this call applied (0 when up to date)
 * @return 0, REDSTORE_ECONNECT (retriable), REDSTORE_EDB (names the migration that failed; nothing of it
 *         was applied), or REDSTORE_ESCHEMA when the database is newer than this library
 * Thread rule: one thread at a time per client; any number of processes at once.
 */
REDSTORE_EXTERN(int) redstore_db_migrate(redstore_client *client, int *REDSTORE_NULLABLE applied);

/**
 * The highest migration version applied to the database (0 for an empty database).
 *
 * @return 0, REDSTORE_ECONNECT or REDSTORE_EDB
 */
REDSTORE_EXTERN(int) redstore_db_schema_version(int *out, redstore_client *client);

/** The highest migration version this library carries. Thread-safe. */
REDSTORE_EXTERN(int) redstore_db_latest_version(void);

REDSTORE_ASSUME_NONNULL_END
REDSTORE_END_DECLS

#endif
