/* Schema migrations: embedded versioned SQL, applied in one transaction under an advisory lock. */
#include "engines/engines_int.h"

#include <stdio.h>

/* Every migrator takes this transaction-scoped advisory lock first ("redstore" in ASCII). */
#define MIGRATE_LOCK "7306920846779310693"

int redstore_db_latest_version(void)
{
	int v = 0;
	for (int i = 0; i < redstore__migration_count; i++)
		if (redstore__migrations[i].version > v)
			v = redstore__migrations[i].version;
	return v;
}

static int current_version(int *out, redstore_client *c)
{
	PGresult *res;
	int rc = redstore__pg_exec(&res, c, "SELECT coalesce(max(version), 0) FROM schema_migrations", 0, NULL);
	if (rc)
		return rc;
	*out = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

int redstore_db_schema_version(int *out, redstore_client *c)
{
	PGresult *res;
	int rc;

	*out = 0;
	if ((rc = redstore__pg_exec(&res, c, "SELECT to_regclass('schema_migrations') IS NOT NULL", 0, NULL)))
		return rc;
	rc = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return rc ? current_version(out, c) : 0;
}

static void rollback(redstore_client *c)
{
	char saved[512];
	int code = redstore_error_last_code();
	snprintf(saved, sizeof(saved), "%s", redstore_error_last());
	if (c->pg)
		redstore__pg_exec(NULL, c, "ROLLBACK", 0, NULL);
	redstore__fail(code, "%s", saved);
}

int redstore_db_migrate(redstore_client *c, int *applied)
{
	int have = 0, count = 0, rc;

	if (applied)
		*applied = 0;
	if ((rc = redstore__pg_exec(NULL, c, "BEGIN", 0, NULL)))
		return rc;
	if ((rc = redstore__pg_exec(NULL, c, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK ")", 0, NULL)) ||
	    (rc = redstore__pg_exec(NULL, c,
	                            "CREATE TABLE IF NOT EXISTS schema_migrations ("
	                            " version integer PRIMARY KEY,"
	                            " name text NOT NULL,"
	                            " applied_at timestamptz NOT NULL DEFAULT now())",
	                            0, NULL)) ||
	    (rc = current_version(&have, c)))
		goto fail;
	if (have > redstore_db_latest_version()) {
		rc = redstore__fail(REDSTORE_ESCHEMA, "database schema is at version %d, newer than this library's %d",
		                    have, redstore_db_latest_version());
		goto fail;
	}
	for (int i = 0; i < redstore__migration_count; i++) {
		const redstore__embedded *m = &redstore__migrations[i];
		char version[16];
		const char *params[2] = { version, m->name };
		PGresult *res;
		bool done;
		/* By the record, not by the highest version: a migration merged later with a lower number
		 * (two branches numbered 0004 and 0006, the 0006 one landing first) is still applied. */
		snprintf(version, sizeof(version), "%d", m->version);
		if ((rc = redstore__pg_exec(&res, c, "SELECT 1 FROM schema_migrations WHERE version = $1", 1, params)))
			goto fail;
		done = PQntuples(res) > 0;
		PQclear(res);
		if (done)
			continue;
		if ((rc = redstore__pg_script(c, m->text))) {
			redstore__fail_wrap(rc, "migration %s", m->name);
			goto fail;
		}
		if ((rc = redstore__pg_exec(NULL, c, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", 2,
		                            params)))
			goto fail;
		count++;
	}
	/* Row-level security for every store-scoped table, including those of migrations after 0004. */
	if (count > 0 && (rc = redstore__pg_exec(NULL, c, "SELECT redstore_secure_store_tables()", 0, NULL))) {
		redstore__fail_wrap(rc, "securing the store-scoped tables");
		goto fail;
	}
	if ((rc = redstore__pg_exec(NULL, c, "COMMIT", 0, NULL)))
		return rc;
	if (applied)
		*applied = count;
	return 0;
fail:
	rollback(c);
	return rc;
}
