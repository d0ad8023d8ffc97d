/* Schema migrations against a real PostgreSQL: fresh database, twice, concurrently, newer schema. */
#include "testutil.h"
#include "engines/engines_int.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* Creates an empty database owned by the library's role and returns a client on it. */
static redstore_client *client_on_fresh_db(char *dbname, size_t cap)
{
	redstore_config *cfg = rs_test_config(), *admin_cfg = rs_test_config();
	redstore_client *admin, *c;
	char sql[256], url[512];
	rs_test_unique(dbname, cap, "mig");
	for (char *p = dbname; *p; p++)
		if (*p == '-')
			*p = '_';
	RS_OK(redstore_config_set(admin_cfg, "database.url", rs_test_env("REDSTORE_ADMIN_DATABASE_URL")));
	RS_OK(redstore_client_new(&admin, admin_cfg));
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s OWNER redstore", dbname);
	RS_OK(redstore__pg_exec(NULL, admin, sql, 0, NULL));
	redstore_client_free(admin);
	redstore_config_free(admin_cfg);
	RS_OK(redstore_config_set(cfg, "database.url",
	                          rs_test_db_url(url, sizeof(url), rs_test_env("REDSTORE_DATABASE_URL"), dbname)));
	RS_OK(redstore_client_new(&c, cfg));
	redstore_config_free(cfg);
	return c;
}

static int count_rows(redstore_client *c, const char *sql)
{
	PGresult *res;
	int n;
	RS_OK(redstore__pg_exec(&res, c, sql, 0, NULL));
	n = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return n;
}

START_TEST(migrate_fresh_database_then_again_is_a_noop)
{
	char db[64];
	redstore_client *c = client_on_fresh_db(db, sizeof(db));
	int applied = -1, version = -1;
	RS_OK(redstore_db_schema_version(&version, c));
	ck_assert_int_eq(version, 0);
	RS_OK(redstore_db_migrate(c, &applied));
	ck_assert_int_eq(applied, redstore__migration_count);
	ck_assert_int_gt(applied, 0);
	RS_OK(redstore_db_schema_version(&version, c));
	ck_assert_int_eq(version, redstore_db_latest_version());
	RS_OK(redstore_db_migrate(c, &applied));
	ck_assert_int_eq(applied, 0);
	ck_assert_int_eq(count_rows(c, "SELECT count(*) FROM schema_migrations"), redstore__migration_count);
	redstore_client_free(c);
}
END_TEST

START_TEST(migrate_every_store_table_has_store_id)
{
	char db[64];
	redstore_client *c = client_on_fresh_db(db, sizeof(db));
	PGresult *res;
	RS_OK(redstore_db_migrate(c, NULL));
	/* Every table except the bookkeeping one carries store_id: the schema is store-scoped from the start. */
	RS_OK(redstore__pg_exec(&res, c,
	                        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
	                        " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
	                        " AND c.relname <> 'schema_migrations'"
	                        " AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid"
	                        "                 AND a.attname = 'store_id' AND NOT a.attisdropped)",
	                        0, NULL));
	ck_assert_msg(PQntuples(res) == 0, "table without store_id: %s", PQntuples(res) ? PQgetvalue(res, 0, 0) : "");
	PQclear(res);
	redstore_client_free(c);
}
END_TEST

typedef struct migrator {
	redstore_config *cfg;
	int rc, applied;
	pthread_barrier_t *start;
} migrator;

static void *run_migrator(void *arg)
{
	migrator *m = arg;
	redstore_client *c;
	if ((m->rc = redstore_client_new(&c, m->cfg)))
		return NULL;
	/* Connect first so every thread reaches the migration itself at the same moment. */
	if (!(m->rc = redstore__pg_connect(c))) {
		pthread_barrier_wait(m->start);
		m->rc = redstore_db_migrate(c, &m->applied);
	}
	redstore_client_free(c);
	return NULL;
}

START_TEST(migrate_concurrent_migrators_apply_each_migration_once)
{
	enum { N = 6 };
	char db[64];
	redstore_client *c = client_on_fresh_db(db, sizeof(db));
	pthread_t t[N];
	migrator m[N];
	pthread_barrier_t start;
	int total = 0;
	pthread_barrier_init(&start, NULL, N);
	for (int i = 0; i < N; i++) {
		m[i].cfg = (redstore_config *)redstore_client_config(c);
		m[i].rc = -1;
		m[i].applied = 0;
		m[i].start = &start;
		ck_assert_int_eq(pthread_create(&t[i], NULL, run_migrator, &m[i]), 0);
	}
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		ck_assert_msg(m[i].rc == 0, "migrator %d failed: %s", i, redstore_err_name(m[i].rc));
		total += m[i].applied;
	}
	pthread_barrier_destroy(&start);
	ck_assert_int_eq(total, redstore__migration_count);
	ck_assert_int_eq(count_rows(c, "SELECT count(*) FROM schema_migrations"), redstore__migration_count);
	redstore_client_free(c);
}
END_TEST

START_TEST(migrate_refuses_a_database_newer_than_the_library)
{
	char db[64];
	redstore_client *c = client_on_fresh_db(db, sizeof(db));
	RS_OK(redstore_db_migrate(c, NULL));
	RS_OK(redstore__pg_exec(NULL, c, "INSERT INTO schema_migrations (version, name) VALUES (99999, 'future')", 0, NULL));
	RS_FAILS(REDSTORE_ESCHEMA, redstore_db_migrate(c, NULL));
	ck_assert_ptr_nonnull(strstr(redstore_error_last(), "99999"));
	/* The failed attempt left no transaction open: the connection still works. */
	ck_assert_int_eq(count_rows(c, "SELECT count(*) FROM schema_migrations"), redstore__migration_count + 1);
	redstore_client_free(c);
}
END_TEST

START_TEST(migrate_applies_an_unrecorded_migration_below_the_highest_applied)
{
	char db[64], sql[160];
	redstore_client *c = client_on_fresh_db(db, sizeof(db));
	const redstore__embedded *second = &redstore__migrations[1];
	ck_assert_int_ge(redstore__migration_count, 3);
	RS_OK(redstore_db_migrate(c, NULL));
	/* As if 0002 had landed after the others were applied: the runner must try it (and here, where its
	 * objects exist already, fail naming it) rather than skip it for being below the highest version. */
	snprintf(sql, sizeof(sql), "DELETE FROM schema_migrations WHERE version = %d", second->version);
	RS_OK(redstore__pg_exec(NULL, c, sql, 0, NULL));
	RS_FAILS(REDSTORE_EDB, redstore_db_migrate(c, NULL));
	ck_assert_msg(strstr(redstore_error_last(), second->name), "error does not name %s: %s", second->name,
	              redstore_error_last());
	/* Nothing of the failed run stayed: still one record short. */
	ck_assert_int_eq(count_rows(c, "SELECT count(*) FROM schema_migrations"), redstore__migration_count - 1);
	redstore_client_free(c);
}
END_TEST

START_TEST(migrate_unreachable_database_gives_econnect)
{
	redstore_config *cfg = rs_test_config();
	redstore_client *c;
	char url[128];
	snprintf(url, sizeof(url), "postgresql://redstore@127.0.0.1:%d/redstore", rs_test_free_port());
	RS_OK(redstore_config_set(cfg, "database.url", url));
	RS_OK(redstore_client_new(&c, cfg));
	RS_FAILS(REDSTORE_ECONNECT, redstore_db_migrate(c, NULL));
	redstore_client_free(c);
	redstore_config_free(cfg);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("migrate");
	TCase *tc = tcase_create("migrate");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, migrate_fresh_database_then_again_is_a_noop);
	tcase_add_test(tc, migrate_every_store_table_has_store_id);
	tcase_add_test(tc, migrate_concurrent_migrators_apply_each_migration_once);
	tcase_add_test(tc, migrate_refuses_a_database_newer_than_the_library);
	tcase_add_test(tc, migrate_applies_an_unrecorded_migration_below_the_highest_applied);
	tcase_add_test(tc, migrate_unreachable_database_gives_econnect);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return rs_test_run(suite());
}
