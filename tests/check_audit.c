/* The audit log against the real engines: the hash chain holds, names edited and deleted entries (also
 * through redstore-cli audit verify), never forks under concurrent appends, and is copied to Kafka. */
#include "authfx.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

static redstore_client *superuser_client(void)
{
	redstore_config *cfg = rs_test_config();
	redstore_client *c;
	RS_OK(redstore_config_set(cfg, "database.url", rs_test_env("REDSTORE_ADMIN_DATABASE_URL")));
	RS_OK(redstore_client_new(&c, cfg));
	redstore_config_free(cfg);
	return c;
}

/* As the superuser, with triggers off (what an attacker with the database's keys could do). */
static void tamper(const char *sql, const char *store)
{
	redstore_client *su = superuser_client();
	const char *p[1] = { store };
	RS_OK(redstore__pg_exec(NULL, su, "SET session_replication_role = replica", 0, NULL));
	RS_OK(redstore__pg_exec(NULL, su, sql, 1, p));
	redstore_client_free(su);
}

START_TEST(audit_chain_verifies_and_names_edited_and_deleted_entries)
{
	fx f, g, h;
	redstore_audit_report rep;
	char *token;
	fx_setup(&f, "auditE");
	for (int i = 0; i < 3; i++) {
		RS_OK(redstore_auth_login(&token, f.svc, f.device, "cash1", "1111"));
		redstore_free(token);
	}
	RS_OK(redstore_audit_verify(&rep, f.svc));
	ck_assert_msg(rep.ok, "%s", rep.problem);
	ck_assert_int_ge(rep.entries, 9);
	/* The application cannot rewrite history. */
	RS_FAILS(REDSTORE_EDB, redstore__pg_exec(NULL, f.svc, "UPDATE audit_log SET action = 'x' WHERE seq = 1", 0, NULL));
	RS_FAILS(REDSTORE_EDB, redstore__pg_exec(NULL, f.svc, "DELETE FROM audit_log WHERE seq = 1", 0, NULL));
	/* Edited by the superuser: named. */
	tamper("UPDATE audit_log SET details = '{\"role\":\"cashier\",\"x\":1}' WHERE store_id = $1 AND seq = 4", f.store);
	RS_OK(redstore_audit_verify(&rep, f.svc));
	ck_assert(!rep.ok);
	ck_assert_int_eq(rep.bad_seq, 4);
	ck_assert_ptr_nonnull(strstr(rep.problem, "edited"));
#ifdef REDSTORE_CLI
	{
		char cmd[1200], outbuf[600] = "";
		FILE *p;
		size_t got;
		snprintf(cmd, sizeof(cmd), "'%s' audit verify --store '%s' 2>&1", REDSTORE_CLI, f.store);
		ck_assert_ptr_nonnull(p = popen(cmd, "r"));
		got = fread(outbuf, 1, sizeof(outbuf) - 1, p);
		outbuf[got] = '\0';
		ck_assert_int_eq(WEXITSTATUS(pclose(p)), 1);
		ck_assert_msg(strstr(outbuf, "entry 4 was edited"), "redstore-cli said: %s", outbuf);
	}
#endif
	/* A middle entry deleted. */
	fx_setup(&g, "auditD");
	tamper("DELETE FROM audit_log WHERE store_id = $1 AND seq = 3", g.store);
	RS_OK(redstore_audit_verify(&rep, g.svc));
	ck_assert(!rep.ok);
	ck_assert_int_eq(rep.bad_seq, 3);
	ck_assert_ptr_nonnull(strstr(rep.problem, "missing"));
	/* The last entry deleted: the head still remembers it. */
	fx_setup(&h, "auditL");
	tamper("DELETE FROM audit_log WHERE store_id = $1 AND seq = (SELECT max(seq) FROM audit_log WHERE store_id = $1)",
	       h.store);
	RS_OK(redstore_audit_verify(&rep, h.svc));
	ck_assert(!rep.ok);
	ck_assert_ptr_nonnull(strstr(rep.problem, "missing"));
	fx_teardown(&h);
	fx_teardown(&g);
	fx_teardown(&f);
}
END_TEST

typedef struct appender {
	const char *store;
	int rc;
} appender;

static void *append_many(void *arg)
{
	appender *a = arg;
	redstore_client *c = auth_client();
	a->rc = redstore_client_use_store(c, a->store);
	for (int i = 0; i < 8 && !a->rc; i++)
		a->rc = redstore__audit_append(c, a->store, "test.concurrent", "t", "", NULL, "x", NULL);
	redstore_client_free(c);
	return NULL;
}

START_TEST(audit_concurrent_appends_never_fork_the_chain)
{
	fx f;
	pthread_t th[4];
	appender a[4];
	redstore_audit_report rep;
	fx_setup(&f, "auditC");
	for (int i = 0; i < 4; i++) {
		a[i].store = f.store;
		ck_assert_int_eq(pthread_create(&th[i], NULL, append_many, &a[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		ck_assert_msg(a[i].rc == 0, "appender %d: %s", i, redstore_err_name(a[i].rc));
	}
	RS_OK(redstore_audit_verify(&rep, f.svc));
	ck_assert_msg(rep.ok, "%s", rep.problem);
	ck_assert_int_eq(sql_count(f.svc, "SELECT count(*) FROM audit_log WHERE store_id = $1 AND action = 'test.concurrent'",
	                           f.store, NULL), 32);
	ck_assert_int_eq(sql_count(f.svc, "SELECT count(DISTINCT prev_hash) - count(*) FROM audit_log WHERE store_id = $1",
	                           f.store, NULL), 0);
	fx_teardown(&f);
}
END_TEST

START_TEST(audit_entries_are_emitted_as_events)
{
	fx f;
	rs_test_watch *w;
	char *token;
	fx_setup(&f, "auditK");
	w = rs_test_watch_start(redstore_client_config(f.svc), "audit");
	RS_OK(redstore_auth_login(&token, f.svc, f.device, "man1", "3333"));
	redstore_free(token);
	ck_assert_msg(rs_test_watch_find(w, "\"action\":\"auth.login\"", f.store, 30000), "no audit.recorded event");
	fx_teardown(&f);
}
END_TEST


int main(void)
{
	Suite *s = suite_create("audit");
	TCase *tc = tcase_create("audit");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, audit_chain_verifies_and_names_edited_and_deleted_entries);
	tcase_add_test(tc, audit_concurrent_appends_never_fork_the_chain);
	tcase_add_test(tc, audit_entries_are_emitted_as_events);
	suite_add_tcase(s, tc);
	return rs_test_run(s);
}
