/* The terminal client against the real redstore-server: sales journaled while the server is stopped are
 * recorded exactly once when it is back, a refused sale stays in the journal with its reason, and the
 * event stream reconnects with Last-Event-ID and misses nothing. */
#include "server.h"
#include "testutil.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define AUTH_SECRET "terminal-test-secret-0123456789-abcdefgh"



/* A JSON string member of a response. */
static void json_str(const char *json, const char *name, char *out, size_t cap)
{
	cJSON *root = cJSON_Parse(json);
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(root, name);
	ck_assert_msg(cJSON_IsString(x), "no \"%s\" in %s", name, json ? json : "(null)");
	snprintf(out, cap, "%s", x->valuestring);
	cJSON_Delete(root);
}

/* A terminal of the client's store, paired and with a cashier logged in through the server; its device
 * token into `device` (REDSTORE_DEVICE_TOKEN_SIZE bytes). */
static redstore_terminal *paired_terminal_device(const rs_test_server *s, redstore_client *c, const char *journal,
                                                 char *device)
{
	char url[64], code[REDSTORE_PAIRING_CODE_SIZE], body[256], token[1024];
	char *resp = NULL;
	long st = 0;
	redstore_terminal *t;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", s->port);
	RS_OK(redstore_terminal_new(&t, url, redstore_client_store(c), journal));
	RS_OK(redstore_auth_employee_add(c, "cash1", "Casey", REDSTORE_ROLE_CASHIER, "1111"));
	RS_OK(redstore_auth_pairing_code_new(code, c, "till 1"));
	snprintf(body, sizeof(body), "{\"code\":\"%s\"}", code);
	RS_OK(redstore_terminal_request(&resp, &st, t, "POST", "/v1/pair", NULL, body));
	ck_assert_int_eq(st, 201);
	json_str(resp, "device_token", device, REDSTORE_DEVICE_TOKEN_SIZE);
	redstore_free(resp);
	snprintf(body, sizeof(body), "{\"device_token\":\"%s\",\"employee_id\":\"cash1\",\"pin\":\"1111\"}", device);
	RS_OK(redstore_terminal_request(&resp, &st, t, "POST", "/v1/sessions", NULL, body));
	ck_assert_int_eq(st, 201);
	json_str(resp, "session_token", token, sizeof(token));
	redstore_free(resp);
	RS_OK(redstore_terminal_set_token(t, token));
	return t;
}

static redstore_terminal *paired_terminal(const rs_test_server *s, redstore_client *c, const char *journal)
{
	char device[REDSTORE_DEVICE_TOKEN_SIZE];
	return paired_terminal_device(s, c, journal, device);
}

/* A journal in a directory of its own (the server's directory goes with each run). */
static void journal_path(char *out, size_t cap, char *dir)
{
	snprintf(dir, 64, "/tmp/rs-journal-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(out, cap, "%s/journal.db", dir);
}

static void journal_cleanup(const char *dir)
{
	char p[160];
	const char *suffix[] = { "", "-wal", "-shm" };
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/journal.db%s", dir, suffix[i]);
		unlink(p);
	}
	rmdir(dir);
}

/* Starts the server again on the port it had, so the terminal's URL stays right. */
static void server_restart(rs_test_server *s)
{
	char port[16];
	const char *args[] = { "--port", port, NULL };
	snprintf(port, sizeof(port), "%d", s->port);
	rs_test_server_start(s, args);
}

static void sale_body(char *out, size_t cap, const char *sku, int qty)
{
	snprintf(out, cap, "{\"lines\":[{\"sku\":\"%s\",\"qty\":%d}],\"tenders\":[{\"kind\":\"cash\",\"amount\":100000}]}",
	         sku, qty);
}

START_TEST(terminal_sales_journaled_while_the_server_is_down_are_recorded_exactly_once)
{
	rs_test_server s;
	redstore_client *c = rs_test_client();
	redstore_terminal *t;
	char jdir[64], store[65], path[160], body[256], ids[51][REDSTORE_ID_SIZE];
	redstore_journal_state state;
	redstore_journal_entry *j;
	size_t n, settled;
	char *receipt;
	int64_t back;
	rs_test_store(c, "term", store, 0);
	rs_test_product(c, "A", 250, "standard", REDSTORE_STOCK_DENY, 100);
	rs_test_server_start(&s, NULL);
	journal_path(path, sizeof(path), jdir);
	t = paired_terminal(&s, c, path);
	sale_body(body, sizeof(body), "A", 1);
	/* online: synced at once, with the receipt */
	RS_OK(redstore_id_new(ids[0]));
	RS_OK(redstore_terminal_sell(&state, &receipt, t, ids[0], body));
	ck_assert_int_eq(state, REDSTORE_JOURNAL_SYNCED);
	ck_assert_ptr_nonnull(receipt);
	ck_assert_ptr_nonnull(strstr(receipt, ids[0]));
	redstore_free(receipt);
	/* the server stops: 50 sales go to the journal, pending, in order */
	rs_test_server_stop(&s);
	for (int i = 1; i <= 50; i++) {
		RS_OK(redstore_id_new(ids[i]));
		RS_OK(redstore_terminal_sell(&state, &receipt, t, ids[i], body));
		ck_assert_int_eq(state, REDSTORE_JOURNAL_PENDING);
		ck_assert_ptr_null(receipt);
	}
	RS_FAILS(REDSTORE_ECONNECT, redstore_terminal_sync(t, &settled));
	ck_assert_uint_eq(settled, 0);
	ck_assert_int_eq(rs_test_available(c, "A"), 99);
	RS_OK(redstore_terminal_journal(&j, &n, t));
	ck_assert_uint_eq(n, 51);
	for (size_t i = 0; i < n; i++) {
		ck_assert_str_eq(j[i].sale_id, ids[i]);
		ck_assert_int_eq(j[i].state, i == 0 ? REDSTORE_JOURNAL_SYNCED : REDSTORE_JOURNAL_PENDING);
		if (i == 1)
			ck_assert_int_ge(j[i].attempts, 1); /* later ones wait behind it */
	}
	redstore_free(j);
	/* back: every pending sale is sent, in order, each recorded once, at the time it was made */
	{
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		back = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	}
	server_restart(&s);
	RS_OK(redstore_terminal_sync(t, &settled));
	ck_assert_uint_eq(settled, 50);
	RS_OK(redstore_terminal_journal(&j, &n, t));
	ck_assert_uint_eq(n, 51);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(j[i].state == REDSTORE_JOURNAL_SYNCED, "sale %zu is %s", i,
		              redstore_journal_state_name(j[i].state));
	redstore_free(j);
	ck_assert_int_eq(rs_test_available(c, "A"), 49);
	for (int i = 0; i <= 50; i++) {
		redstore_receipt *r;
		RS_OK(redstore_receipt_get(&r, c, ids[i]));
		ck_assert_msg(r->occurred_at_ms < back, "sale %d is recorded at %lld, after the server came back (%lld)", i,
		              (long long)r->occurred_at_ms, (long long)back);
		redstore_receipt_free(r);
	}
	/* selling the same sale again (an app retrying) changes nothing */
	RS_OK(redstore_terminal_sell(&state, NULL, t, ids[7], body));
	ck_assert_int_eq(state, REDSTORE_JOURNAL_SYNCED);
	RS_FAILS(REDSTORE_EEXISTS, redstore_terminal_sell(&state, NULL, t, ids[7], "{\"lines\":[]}"));
	RS_OK(redstore_terminal_sync(t, &settled));
	ck_assert_uint_eq(settled, 0);
	ck_assert_int_eq(rs_test_available(c, "A"), 49);
	redstore_terminal_free(t);
	rs_test_server_stop(&s);
	journal_cleanup(jdir);
	redstore_client_free(c);
}
END_TEST

START_TEST(terminal_a_refused_sale_stays_in_the_journal_with_its_reason)
{
	rs_test_server s;
	redstore_client *c = rs_test_client();
	redstore_terminal *t;
	char jdir[64], store[65], path[160], body[256], a[REDSTORE_ID_SIZE], b[REDSTORE_ID_SIZE];
	redstore_journal_state state;
	redstore_journal_entry *j;
	size_t n, settled;
	rs_test_store(c, "termrej", store, 0);
	rs_test_product(c, "B", 250, "standard", REDSTORE_STOCK_DENY, 1);
	rs_test_server_start(&s, NULL);
	journal_path(path, sizeof(path), jdir);
	t = paired_terminal(&s, c, path);
	sale_body(body, sizeof(body), "B", 1);
	rs_test_server_stop(&s);
	/* offline, the terminal sells the last unit twice */
	RS_OK(redstore_id_new(a));
	RS_OK(redstore_id_new(b));
	RS_OK(redstore_terminal_sell(&state, NULL, t, a, body));
	ck_assert_int_eq(state, REDSTORE_JOURNAL_PENDING);
	RS_OK(redstore_terminal_sell(&state, NULL, t, b, body));
	ck_assert_int_eq(state, REDSTORE_JOURNAL_PENDING);
	server_restart(&s);
	RS_OK(redstore_terminal_sync(t, &settled));
	ck_assert_uint_eq(settled, 2);
	RS_OK(redstore_terminal_journal(&j, &n, t));
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(j[0].sale_id, a);
	ck_assert_int_eq(j[0].state, REDSTORE_JOURNAL_SYNCED);
	ck_assert_str_eq(j[1].sale_id, b);
	ck_assert_int_eq(j[1].state, REDSTORE_JOURNAL_REJECTED);
	ck_assert_int_eq(j[1].http_status, 409);
	ck_assert_msg(strstr(j[1].reason, "out_of_stock") != NULL, "reason: %s", j[1].reason);
	redstore_free(j);
	ck_assert_int_eq(rs_test_available(c, "B"), 0);
	redstore_terminal_free(t);
	rs_test_server_stop(&s);
	journal_cleanup(jdir);
	redstore_client_free(c);
}
END_TEST

START_TEST(terminal_journal_add_journals_without_sending)
{
	rs_test_server s;
	redstore_client *c = rs_test_client();
	redstore_terminal *t;
	char jdir[64], store[65], path[160], body[256], id[REDSTORE_ID_SIZE];
	redstore_journal_state state;
	size_t settled;
	rs_test_store(c, "termadd", store, 0);
	rs_test_product(c, "A", 250, "standard", REDSTORE_STOCK_DENY, 5);
	rs_test_server_start(&s, NULL);
	journal_path(path, sizeof(path), jdir);
	t = paired_terminal(&s, c, path);
	sale_body(body, sizeof(body), "A", 1);
	RS_OK(redstore_id_new(id));
	/* the server is up, and still nothing is sent */
	RS_OK(redstore_terminal_journal_add(&state, t, id, body));
	ck_assert_int_eq(state, REDSTORE_JOURNAL_PENDING);
	ck_assert_int_eq(rs_test_available(c, "A"), 5);
	RS_FAILS(REDSTORE_EEXISTS, redstore_terminal_journal_add(&state, t, id, "{\"lines\":[]}"));
	RS_FAILS(REDSTORE_EINVALID, redstore_terminal_journal_add(&state, t, "not-a-uuid", body));
	RS_FAILS(REDSTORE_EINVALID, redstore_terminal_journal_add(&state, t, id, "[]"));
	RS_OK(redstore_terminal_sync(t, &settled));
	ck_assert_uint_eq(settled, 1);
	ck_assert_int_eq(rs_test_available(c, "A"), 4);
	/* added again after it was sent: its settled state, nothing sent twice */
	RS_OK(redstore_terminal_journal_add(&state, t, id, body));
	ck_assert_int_eq(state, REDSTORE_JOURNAL_SYNCED);
	RS_OK(redstore_terminal_sync(t, &settled));
	ck_assert_uint_eq(settled, 0);
	ck_assert_int_eq(rs_test_available(c, "A"), 4);
	redstore_terminal_free(t);
	rs_test_server_stop(&s);
	journal_cleanup(jdir);
	redstore_client_free(c);
}
END_TEST

typedef struct seen {
	pthread_mutex_t mu;
	char ids[64][REDSTORE_STREAM_ID_SIZE];
	int n, snapshots, resyncs, unauthorized;
} seen;

static void on_event(const char *event, const char *id, const char *data, void *payload)
{
	seen *s = payload;
	pthread_mutex_lock(&s->mu);
	if (!strcmp(event, "change") && s->n < 64)
		snprintf(s->ids[s->n++], REDSTORE_STREAM_ID_SIZE, "%s", id);
	else if (!strcmp(event, "snapshot"))
		s->snapshots++;
	else if (!strcmp(event, "resync"))
		s->resyncs++;
	else if (!strcmp(event, "unauthorized") && strstr(data, "\"unauthenticated\""))
		s->unauthorized++;
	pthread_mutex_unlock(&s->mu);
}

static int seen_count(seen *s)
{
	int n;
	pthread_mutex_lock(&s->mu);
	n = s->n;
	pthread_mutex_unlock(&s->mu);
	return n;
}

static void wait_seen(seen *s, int n)
{
	int64_t deadline = rs_test_now_ms() + 20000;
	while (seen_count(s) < n && rs_test_now_ms() < deadline)
		rs_test_pause_ms(5);
	ck_assert_int_eq(seen_count(s), n);
}

static void sell(redstore_client *c, char *stream_id)
{
	redstore_sale *s;
	redstore_receipt *r;
	RS_OK(redstore_sale_new(&s, NULL));
	RS_OK(redstore_sale_add_line(s, "A", 1, NULL));
	RS_OK(redstore_sale_add_tender(s, REDSTORE_TENDER_CASH, 100000, NULL));
	RS_OK(redstore_sale_commit(&r, c, s));
	snprintf(stream_id, REDSTORE_STREAM_ID_SIZE, "%s", r->stream_id);
	redstore_receipt_free(r);
	redstore_sale_free(s);
}

/* An event stream test: a store with product A, the server, a paired terminal with a cashier logged in
 * (its device token kept), its event stream started at the present and delivering into `got`. */
typedef struct stream_fx {
	rs_test_server s;
	redstore_client *c;
	redstore_terminal *t;
	char jdir[64], store[65], path[160], device[REDSTORE_DEVICE_TOKEN_SIZE];
	seen got;
} stream_fx;

static void stream_fx_up(stream_fx *f, const char *prefix, int ttl_s)
{
	redstore_snapshot *snap;
	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->got.mu, NULL);
	f->c = rs_test_client();
	rs_test_store(f->c, prefix, f->store, 0);
	rs_test_product(f->c, "A", 250, "standard", REDSTORE_STOCK_DENY, 100);
	rs_test_server_start(&f->s, NULL);
	journal_path(f->path, sizeof(f->path), f->jdir);
	f->t = paired_terminal_device(&f->s, f->c, f->path, f->device);
	if (ttl_s) {
		char token[1024];
		rs_test_login_ttl(f->store, f->device, "cash1", "1111", ttl_s, token);
		RS_OK(redstore_terminal_set_token(f->t, token));
	}
	RS_OK(redstore_sync_snapshot(&snap, f->c));
	RS_OK(redstore_terminal_events_start(f->t, snap->stream_id, on_event, &f->got));
	redstore_snapshot_free(snap);
}

/* Asserts that exactly the changes `ids` (n of them) arrived, in order, with no resync. */
static void stream_fx_check(stream_fx *f, char (*ids)[REDSTORE_STREAM_ID_SIZE], int n)
{
	wait_seen(&f->got, n);
	for (int i = 0; i < n; i++)
		ck_assert_str_eq(f->got.ids[i], ids[i]);
	ck_assert_int_eq(f->got.resyncs, 0);
}

static void stream_fx_down(stream_fx *f)
{
	redstore_terminal_events_stop(f->t);
	redstore_terminal_free(f->t);
	rs_test_server_stop(&f->s);
	journal_cleanup(f->jdir);
	pthread_mutex_destroy(&f->got.mu);
	redstore_client_free(f->c);
}

START_TEST(terminal_event_stream_reconnects_with_last_event_id_and_misses_nothing)
{
	stream_fx f;
	char ids[25][REDSTORE_STREAM_ID_SIZE], last[REDSTORE_STREAM_ID_SIZE];
	stream_fx_up(&f, "termsse", 0);
	for (int i = 0; i < 10; i++)
		sell(f.c, ids[i]);
	wait_seen(&f.got, 10);
	/* the server goes away; sales go on (the library writes Redis directly) */
	rs_test_server_stop(&f.s);
	for (int i = 10; i < 20; i++)
		sell(f.c, ids[i]);
	server_restart(&f.s);
	wait_seen(&f.got, 20);
	for (int i = 20; i < 25; i++)
		sell(f.c, ids[i]);
	stream_fx_check(&f, ids, 25);
	redstore_terminal_last_event_id(last, f.t);
	ck_assert_str_eq(last, ids[24]);
	stream_fx_down(&f);
}
END_TEST

static int seen_unauthorized(seen *s)
{
	int n;
	pthread_mutex_lock(&s->mu);
	n = s->unauthorized;
	pthread_mutex_unlock(&s->mu);
	return n;
}

START_TEST(terminal_event_stream_reports_an_expired_session_and_resumes_with_a_new_token)
{
	stream_fx f;
	char ids[8][REDSTORE_STREAM_ID_SIZE], token[1024];
	stream_fx_up(&f, "termauth", 3); /* a session of 3 s */
	for (int i = 0; i < 3; i++)
		sell(f.c, ids[i]);
	wait_seen(&f.got, 3);
	/* the session expires: the stream says so (once) and stops delivering */
	{
		int64_t deadline = rs_test_now_ms() + 15000;
		while (seen_unauthorized(&f.got) == 0 && rs_test_now_ms() < deadline)
			rs_test_pause_ms(10);
	}
	ck_assert_int_eq(seen_unauthorized(&f.got), 1);
	for (int i = 3; i < 8; i++)
		sell(f.c, ids[i]);
	/* a new session: the stream continues after the last event it delivered, nothing missed */
	rs_test_login_ttl(f.store, f.device, "cash1", "1111", 3600, token);
	RS_OK(redstore_terminal_set_token(f.t, token));
	stream_fx_check(&f, ids, 8);
	ck_assert_int_eq(seen_unauthorized(&f.got), 1);
	stream_fx_down(&f);
}
END_TEST

static Suite *terminal_suite(void)
{
	Suite *s = suite_create("terminal");
	TCase *t = tcase_create("terminal");
	tcase_set_timeout(t, 300);
	tcase_add_test(t, terminal_sales_journaled_while_the_server_is_down_are_recorded_exactly_once);
	tcase_add_test(t, terminal_a_refused_sale_stays_in_the_journal_with_its_reason);
	tcase_add_test(t, terminal_journal_add_journals_without_sending);
	tcase_add_test(t, terminal_event_stream_reconnects_with_last_event_id_and_misses_nothing);
	tcase_add_test(t, terminal_event_stream_reports_an_expired_session_and_resumes_with_a_new_token);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return rs_test_server_main(terminal_suite(), AUTH_SECRET);
}
