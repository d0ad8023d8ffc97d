/* The client against the real engines of the dev stack: health, lazy connect, timeouts, reconnect. */
#include "testutil.h"
#include "engines/engines_int.h"

#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static redstore_client *client_with(const char *key, const char *value, const char *key2, const char *value2)
{
	redstore_config *cfg = rs_test_config();
	redstore_client *c;
	RS_OK(redstore_config_set(cfg, key, value));
	if (key2)
		RS_OK(redstore_config_set(cfg, key2, value2));
	RS_OK(redstore_client_new(&c, cfg));
	redstore_config_free(cfg);
	return c;
}

START_TEST(client_health_reports_every_engine_up)
{
	redstore_client *c = rs_test_client();
	redstore_engine_health h[REDSTORE_ENGINE_COUNT];
	RS_OK(redstore_client_health(h, c));
	for (int i = 0; i < REDSTORE_ENGINE_COUNT; i++) {
		ck_assert_int_eq(h[i].engine, i);
		ck_assert_msg(h[i].ok, "%s down: %s", redstore_engine_name(h[i].engine), h[i].detail);
		ck_assert_int_ge(h[i].latency_us, 0);
		ck_assert_int_lt(h[i].latency_us, 5000000);
	}
	ck_assert_ptr_nonnull(strstr(h[REDSTORE_ENGINE_REDIS].version, "."));
	ck_assert_str_eq(redstore_engine_name(REDSTORE_ENGINE_KAFKA), "kafka");
	redstore_client_free(c);
}
END_TEST

START_TEST(client_new_connects_nothing)
{
	/* Creating a client for servers that do not exist succeeds: connections are lazy. */
	char url[64];
	redstore_client *c;
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", rs_test_free_port());
	c = client_with("redis.url", url, NULL, NULL);
	ck_assert_ptr_null(c->redis);
	ck_assert_ptr_null(c->pg);
	ck_assert_ptr_null(c->producer);
	redstore_client_free(c);
	redstore_client_free(NULL);
}
END_TEST

START_TEST(client_redis_refused_gives_econnect_quickly)
{
	char url[64];
	redstore_client *c;
	int64_t t0;
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", rs_test_free_port());
	c = client_with("redis.url", url, NULL, NULL);
	t0 = redstore__now_us();
	RS_FAILS(REDSTORE_ECONNECT, redstore__redis_cmd(NULL, c, "PING"));
	ck_assert_int_lt(redstore__now_us() - t0, 1000000);
	ck_assert(redstore_err_is_retriable(REDSTORE_ECONNECT));
	ck_assert_msg(strstr(redstore_error_last(), "127.0.0.1"), "message names no host: %s", redstore_error_last());
	redstore_client_free(c);
}
END_TEST

START_TEST(client_redis_hung_server_gives_etimeout_within_the_timeout)
{
	char url[64];
	int port, fd = rs_test_blackhole(&port);
	redstore_client *c;
	int64_t t0, took;
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", port);
	c = client_with("redis.url", url, "redis.command_timeout_ms", "300");
	t0 = redstore__now_us();
	RS_FAILS(REDSTORE_ETIMEOUT, redstore__redis_cmd(NULL, c, "PING"));
	took = redstore__now_us() - t0;
	ck_assert_int_ge(took, 250000);
	ck_assert_int_lt(took, 2000000);
	ck_assert_ptr_null(c->redis); /* dropped: the next call reconnects */
	redstore_client_free(c);
	close(fd);
}
END_TEST

/* A connection the server closed while it was idle (a restart, CLIENT KILL, a timeout) is noticed before
 * the next command is sent, and that command runs on a new connection: nothing is sent into a dead
 * socket, so no command's outcome becomes unknown. */
START_TEST(client_redis_reconnects_before_sending_on_a_connection_the_server_closed)
{
	redstore_client *c = rs_test_client(), *killer = rs_test_client();
	redisReply *r;
	long long id;
	struct pollfd p;
	int64_t deadline = rs_test_now_ms() + 10000;
	RS_OK(redstore__redis_cmd(&r, c, "CLIENT ID"));
	id = r->integer;
	freeReplyObject(r);
	RS_OK(redstore__redis_cmd(NULL, killer, "CLIENT KILL ID %lld", id));
	/* Until the server's close has reached this socket. */
	p.fd = c->redis->fd;
	p.events = POLLIN;
	while (poll(&p, 1, 20) == 0 && rs_test_now_ms() < deadline)
		;
	ck_assert_msg(p.revents, "the killed connection never became readable");
	RS_OK(redstore__redis_cmd(&r, c, "CLIENT ID"));
	ck_assert_int_ne(r->integer, id);
	freeReplyObject(r);
	redstore_client_free(c);
	redstore_client_free(killer);
}
END_TEST

/* The same for PostgreSQL: a backend terminated while idle is replaced before the next statement. */
START_TEST(client_postgres_reconnects_before_sending_on_a_connection_the_server_ended)
{
	redstore_client *c = rs_test_client(), *killer = rs_test_client();
	PGresult *res;
	char pid[32];
	const char *params[1] = { pid };
	struct pollfd p;
	int64_t deadline = rs_test_now_ms() + 10000;
	RS_OK(redstore__pg_exec(&res, c, "SELECT pg_backend_pid()", 0, NULL));
	snprintf(pid, sizeof(pid), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	RS_OK(redstore__pg_exec(&res, killer, "SELECT pg_terminate_backend($1::int)", 1, params));
	ck_assert_str_eq(PQgetvalue(res, 0, 0), "t");
	PQclear(res);
	/* Until the backend's goodbye ("terminating connection due to administrator command") is here. */
	p.fd = PQsocket(c->pg);
	p.events = POLLIN;
	while (poll(&p, 1, 20) == 0 && rs_test_now_ms() < deadline)
		;
	ck_assert_msg(p.revents, "the terminated backend's socket never became readable");
	RS_OK(redstore__pg_exec(&res, c, "SELECT pg_backend_pid()", 0, NULL));
	ck_assert_str_ne(PQgetvalue(res, 0, 0), pid);
	PQclear(res);
	redstore_client_free(c);
	redstore_client_free(killer);
}
END_TEST

START_TEST(client_redis_error_reply_gives_eredis_and_keeps_the_connection)
{
	redstore_client *c = rs_test_client();
	redisContext *before;
	RS_OK(redstore__redis_cmd(NULL, c, "PING"));
	before = c->redis;
	RS_FAILS(REDSTORE_EREDIS, redstore__redis_cmd(NULL, c, "NOSUCHCOMMAND"));
	ck_assert_ptr_nonnull(strstr(redstore_error_last(), "unknown command"));
	ck_assert_ptr_eq(c->redis, before);
	redstore_client_free(c);
}
END_TEST

START_TEST(client_redis_scripts_load_again_after_script_flush)
{
	redstore_client *c = rs_test_client();
	redisReply *r;
	RS_OK(redstore__redis_script(&r, c, "ping", 0, 0, NULL, NULL));
	ck_assert_int_eq(r->type, REDIS_REPLY_ARRAY);
	freeReplyObject(r);
	RS_OK(redstore__redis_cmd(NULL, c, "SCRIPT FLUSH"));
	RS_OK(redstore__redis_script(&r, c, "ping", 0, 0, NULL, NULL));
	ck_assert_int_eq(r->type, REDIS_REPLY_ARRAY);
	freeReplyObject(r);
	RS_FAILS(REDSTORE_ERROR, redstore__redis_script(NULL, c, "no_such_script", 0, 0, NULL, NULL));
	redstore_client_free(c);
}
END_TEST

START_TEST(client_redis_wrong_password_gives_eauth)
{
	char url[400];
	redstore__redis_url u;
	redstore_client *c;
	ck_assert_int_eq(redstore__redis_url_parse(&u, rs_test_env("REDSTORE_REDIS_URL")), 0);
	snprintf(url, sizeof(url), "redis://nosuchuser:wrong@%s:%d/0", u.host, u.port);
	c = client_with("redis.url", url, NULL, NULL);
	RS_FAILS(REDSTORE_EAUTH, redstore__redis_cmd(NULL, c, "PING"));
	ck_assert_ptr_null(strstr(redstore_error_last(), "wrong"));
	redstore_client_free(c);
}
END_TEST

START_TEST(client_postgres_refused_gives_econnect_quickly)
{
	char url[128];
	redstore_client *c;
	int64_t t0;
	snprintf(url, sizeof(url), "postgresql://redstore@127.0.0.1:%d/redstore", rs_test_free_port());
	c = client_with("database.url", url, NULL, NULL);
	t0 = redstore__now_us();
	RS_FAILS(REDSTORE_ECONNECT, redstore__pg_exec(NULL, c, "SELECT 1", 0, NULL));
	ck_assert_int_lt(redstore__now_us() - t0, 1000000);
	redstore_client_free(c);
}
END_TEST

START_TEST(client_postgres_hung_server_gives_econnect_within_the_timeout)
{
	char url[128];
	int port, fd = rs_test_blackhole(&port);
	redstore_client *c;
	int64_t t0, took;
	snprintf(url, sizeof(url), "postgresql://redstore@127.0.0.1:%d/redstore", port);
	c = client_with("database.url", url, "database.connect_timeout_ms", "300");
	t0 = redstore__now_us();
	RS_FAILS(REDSTORE_ECONNECT, redstore__pg_exec(NULL, c, "SELECT 1", 0, NULL));
	took = redstore__now_us() - t0;
	ck_assert_int_ge(took, 250000);
	ck_assert_int_lt(took, 2000000);
	ck_assert_ptr_nonnull(strstr(redstore_error_last(), "300 ms"));
	redstore_client_free(c);
	close(fd);
}
END_TEST

START_TEST(client_postgres_statement_timeout_gives_etimeout_and_keeps_working)
{
	redstore_client *c = client_with("database.command_timeout_ms", "200", NULL, NULL);
	PGresult *res;
	int64_t t0 = redstore__now_us();
	RS_FAILS(REDSTORE_ETIMEOUT, redstore__pg_exec(NULL, c, "SELECT pg_sleep(5)", 0, NULL));
	ck_assert_int_lt(redstore__now_us() - t0, 2000000);
	RS_OK(redstore__pg_exec(&res, c, "SELECT 41 + 1", 0, NULL));
	ck_assert_str_eq(PQgetvalue(res, 0, 0), "42");
	PQclear(res);
	redstore_client_free(c);
}
END_TEST

START_TEST(client_postgres_parameters_are_never_interpolated)
{
	redstore_client *c = rs_test_client();
	PGresult *res;
	const char *params[1] = { "'; DROP TABLE schema_migrations; --" };
	RS_OK(redstore__pg_exec(&res, c, "SELECT length($1::text)", 1, params));
	ck_assert_int_eq(atoi(PQgetvalue(res, 0, 0)), (int)strlen(params[0]));
	PQclear(res);
	RS_FAILS(REDSTORE_EDB, redstore__pg_exec(NULL, c, "SELECT * FROM no_such_table", 0, NULL));
	ck_assert_ptr_nonnull(strstr(redstore_error_last(), "no_such_table"));
	redstore_client_free(c);
}
END_TEST

START_TEST(client_kafka_unreachable_gives_econnect_within_the_timeout)
{
	char brokers[64];
	redstore_client *c;
	redstore_engine_health h[REDSTORE_ENGINE_COUNT];
	int64_t t0, took;
	snprintf(brokers, sizeof(brokers), "127.0.0.1:%d", rs_test_free_port());
	c = client_with("kafka.brokers", brokers, "kafka.connect_timeout_ms", "1000");
	t0 = redstore__now_us();
	RS_FAILS(REDSTORE_ECONNECT, redstore_client_health(h, c));
	took = redstore__now_us() - t0;
	ck_assert_int_lt(took, 3000000);
	ck_assert(h[REDSTORE_ENGINE_REDIS].ok);
	ck_assert(h[REDSTORE_ENGINE_POSTGRES].ok);
	ck_assert(!h[REDSTORE_ENGINE_KAFKA].ok);
	ck_assert_int_eq(h[REDSTORE_ENGINE_KAFKA].error, REDSTORE_ECONNECT);
	ck_assert_ptr_nonnull(strstr(redstore_error_last(), "kafka"));
	redstore_client_free(c);
}
END_TEST

START_TEST(client_kafka_without_brokers_says_how_to_get_them)
{
	redstore_client *c = client_with("kafka.brokers", "", NULL, NULL);
	rd_kafka_t *rk;
	RS_FAILS(REDSTORE_EINVALID, redstore__kafka_producer(&rk, c));
	ck_assert_ptr_nonnull(strstr(redstore_error_last(), "REDSTORE_KAFKA_BROKERS"));
	redstore_client_free(c);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("client");
	TCase *tc = tcase_create("client");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, client_health_reports_every_engine_up);
	tcase_add_test(tc, client_new_connects_nothing);
	tcase_add_test(tc, client_redis_reconnects_before_sending_on_a_connection_the_server_closed);
	tcase_add_test(tc, client_postgres_reconnects_before_sending_on_a_connection_the_server_ended);
	tcase_add_test(tc, client_redis_error_reply_gives_eredis_and_keeps_the_connection);
	tcase_add_test(tc, client_redis_scripts_load_again_after_script_flush);
	tcase_add_test(tc, client_redis_wrong_password_gives_eauth);
	tcase_add_test(tc, client_postgres_parameters_are_never_interpolated);
	tcase_add_test(tc, client_kafka_without_brokers_says_how_to_get_them);
	suite_add_tcase(s, tc);
	/* Bounds on wall-clock time: meaningful at native speed only. */
	tc = tcase_create("timing");
	tcase_set_tags(tc, "timing");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, client_redis_refused_gives_econnect_quickly);
	tcase_add_test(tc, client_redis_hung_server_gives_etimeout_within_the_timeout);
	tcase_add_test(tc, client_postgres_refused_gives_econnect_quickly);
	tcase_add_test(tc, client_postgres_hung_server_gives_econnect_within_the_timeout);
	tcase_add_test(tc, client_postgres_statement_timeout_gives_etimeout_and_keeps_working);
	tcase_add_test(tc, client_kafka_unreachable_gives_econnect_within_the_timeout);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return rs_test_run(suite());
}
