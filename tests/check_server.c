/* redstore-server, the real program on a free port against the dev stack, driven with libcurl: SSE streams
 * carry every change in order with no gaps (also 200 clients through a 5,000-sale run), Last-Event-ID
 * resumes exactly, a too-old id or a client that stops reading gets resync, and bad requests get their
 * codes and change nothing. */
#include "http.h"
#include "server.h"
#include "testutil.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------ the server process */

/* The session secret of the server and the tests, and the cheapest PIN hashing (valgrind). */
#define AUTH_SECRET "server-test-secret-0123456789-abcdefghij"

/* The session token the requests of this process carry (NULL: none). */
static const char *g_token;

typedef rs_test_server server;



static void server_start(server *s, const char *const *extra)
{
	g_token = NULL;
	rs_test_server_start(s, extra);
}

static void server_stop(server *s)
{
	g_token = NULL;
	rs_test_server_stop(s);
}

/* ------------------------------------------------------------ plain requests */

/* One request; returns the status, *body (malloc'ed, may be NULL) the response. */
static long http(const server *s, const char *method, const char *path, const char *idem, const char *body,
                 char **out)
{
	CURLcode rc;
	long status = rs_http(s->port, g_token, method, path, idem, body, 30000, out, &rc);
	ck_assert_msg(rc == CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror(rc));
	return status;
}

/* Asserts the status and that the body's error code is `code`. */
static void expect_error(const server *s, const char *method, const char *path, const char *idem, const char *body,
                         long status, const char *code)
{
	char *resp = NULL, needle[96];
	long st = http(s, method, path, idem, body, &resp);
	snprintf(needle, sizeof(needle), "\"code\":\"%s\"", code);
	ck_assert_msg(st == status && resp && strstr(resp, needle), "%s %s [%s]: %ld %s (expected %ld %s)", method,
	              path, body ? body : "", st, resp ? resp : "", status, code);
	free(resp);
}

/* ------------------------------------------------------------ an SSE client */

typedef struct sse {
	rs_sse_parser p;
	char (*ids)[REDSTORE_STREAM_ID_SIZE]; /* the change events' ids, in arrival order */
	atomic_size_t count;
	size_t cap;
	atomic_int resync, heartbeats, bad, ended, unauthorized;
	atomic_int stop;
	int want;                           /* stop after this many changes (0: until told) */
} sse;

static void sse_event(void *ctx, const char *event, const char *id, const char *data)
{
	sse *c = ctx;
	if (!strcmp(event, "change")) {
		size_t n = atomic_load(&c->count);
		char needle[80];
		snprintf(needle, sizeof(needle), "{\"id\":\"%s\"", id);
		/* the data names the same id */
		if (!id[0] || strncmp(data, needle, strlen(needle))) {
			atomic_store(&c->bad, 1);
			return;
		}
		if (n == c->cap) {
			size_t cap = c->cap ? c->cap * 2 : 256;
			void *q = realloc(c->ids, cap * sizeof(*c->ids));
			if (!q) {
				atomic_store(&c->bad, 1);
				return;
			}
			c->ids = q;
			c->cap = cap;
		}
		snprintf(c->ids[n], sizeof(c->ids[n]), "%s", id);
		atomic_store(&c->count, n + 1);
	} else if (!strcmp(event, "resync")) {
		atomic_store(&c->resync, 1);
	} else if (!strcmp(event, "unauthorized")) {
		atomic_store(&c->unauthorized, 1);
	}
}

static void sse_comment(void *ctx, const char *text)
{
	(void)text;
	atomic_fetch_add(&((sse *)ctx)->heartbeats, 1);
}

static size_t sse_write(char *data, size_t size, size_t nmemb, void *userdata)
{
	sse *c = userdata;
	size_t k = size * nmemb;
	if (!c->p.on_event) {
		c->p.on_event = sse_event;
		c->p.on_comment = sse_comment;
		c->p.ctx = c;
	}
	if (rs_sse_feed(&c->p, data, k))
		atomic_store(&c->bad, 1);
	if (atomic_load(&c->stop) || (c->want && (int)atomic_load(&c->count) >= c->want))
		return 0; /* ends the transfer */
	return k;
}

static int sse_progress(void *p, curl_off_t a, curl_off_t b, curl_off_t c2, curl_off_t d)
{
	(void)a, (void)b, (void)c2, (void)d;
	return atomic_load(&((sse *)p)->stop);
}

static CURL *sse_handle_token(sse *c, const server *s, const char *store, const char *last_id, const char *token,
                              struct curl_slist **hdr)
{
	CURL *h = curl_easy_init();
	char url[256], line[96];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/stores/%s/events", s->port, store);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sse_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, sse_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
	*hdr = NULL;
	if (token) {
		char auth[1200];
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		*hdr = curl_slist_append(*hdr, auth);
	}
	if (last_id) {
		snprintf(line, sizeof(line), "Last-Event-ID: %s", last_id);
		*hdr = curl_slist_append(*hdr, line);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, *hdr);
	return h;
}

static CURL *sse_handle(sse *c, const server *s, const char *store, const char *last_id, struct curl_slist **hdr)
{
	return sse_handle_token(c, s, store, last_id, g_token, hdr);
}

typedef struct sse_run {
	sse c;
	const server *s;
	char store[65];
	char last[REDSTORE_STREAM_ID_SIZE];
	const char *token; /* g_token when it started */
	pthread_t t;
} sse_run;

static void *sse_thread(void *arg)
{
	sse_run *r = arg;
	struct curl_slist *hdr;
	CURL *h = sse_handle_token(&r->c, r->s, r->store, r->last[0] ? r->last : NULL, r->token, &hdr);
	curl_easy_perform(h);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	atomic_store(&r->c.ended, 1);
	return NULL;
}

static sse_run *sse_start(const server *s, const char *store, const char *last, int want)
{
	sse_run *r = calloc(1, sizeof(*r));
	ck_assert_ptr_nonnull(r);
	r->s = s;
	r->token = g_token; /* the thread may start after g_token changed */
	r->c.want = want;
	snprintf(r->store, sizeof(r->store), "%s", store);
	if (last)
		snprintf(r->last, sizeof(r->last), "%s", last);
	ck_assert_int_eq(pthread_create(&r->t, NULL, sse_thread, r), 0);
	return r;
}

/* Waits until the client has `n` changes (or ended); returns what it has. */
static size_t sse_wait(sse_run *r, size_t n, int timeout_ms)
{
	int64_t deadline = rs_test_now_ms() + timeout_ms;
	while (atomic_load(&r->c.count) < n && !atomic_load(&r->c.ended) && rs_test_now_ms() < deadline)
		rs_test_pause_ms(5);
	return atomic_load(&r->c.count);
}

static void sse_finish(sse_run *r)
{
	atomic_store(&r->c.stop, 1);
	pthread_join(r->t, NULL);
	free(r->c.ids);
	free(r);
}

/* ------------------------------------------------------------ fixtures */

/* The id the store's stream is current to. */
static void stream_now(redstore_client *c, char *id)
{
	redstore_snapshot *snap;
	RS_OK(redstore_sync_snapshot(&snap, c));
	snprintf(id, REDSTORE_STREAM_ID_SIZE, "%s", snap->stream_id);
	redstore_snapshot_free(snap);
}

/* Every change after `after` (in stream order) as read by the library. */
static size_t changes_after(redstore_client *c, const char *after, char (**ids)[REDSTORE_STREAM_ID_SIZE])
{
	size_t n = 0, cap = 0;
	char from[REDSTORE_STREAM_ID_SIZE];
	snprintf(from, sizeof(from), "%s", after);
	*ids = NULL;
	for (;;) {
		redstore_changes *ch;
		RS_OK(redstore_sync_read(&ch, c, from, 1000, 0));
		ck_assert_int_eq(ch->resync, 0);
		for (size_t i = 0; i < ch->count; i++) {
			if (n == cap) {
				cap = cap ? cap * 2 : 1024;
				*ids = realloc(*ids, cap * sizeof(**ids));
				ck_assert_ptr_nonnull(*ids);
			}
			snprintf((*ids)[n++], REDSTORE_STREAM_ID_SIZE, "%s", ch->items[i].id);
		}
		snprintf(from, sizeof(from), "%s", ch->last_id);
		if (ch->count == 0) {
			redstore_changes_free(ch);
			return n;
		}
		redstore_changes_free(ch);
	}
}

static void new_id(char *id)
{
	RS_OK(redstore_id_new(id));
}

/* A JSON string member of a response, copied into out. */
static void json_str(const char *json, const char *name, char *out, size_t cap)
{
	cJSON *root = cJSON_Parse(json);
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(root, name);
	ck_assert_msg(cJSON_IsString(x), "no \"%s\" in %s", name, json);
	snprintf(out, cap, "%s", x->valuestring);
	cJSON_Delete(root);
}

/* Session tokens of the store's employees, logged in through the server on a terminal paired through it. */
typedef struct creds {
	char cashier[1024], manager[1024];
} creds;

static void login(const server *s, const char *device, const char *employee, const char *pin, char *token)
{
	char body[512], *resp = NULL;
	const char *saved = g_token;
	g_token = NULL;
	snprintf(body, sizeof(body), "{\"device_token\":\"%s\",\"employee_id\":\"%s\",\"pin\":\"%s\"}", device,
	         employee, pin);
	ck_assert_int_eq(http(s, "POST", "/v1/sessions", NULL, body, &resp), 201);
	json_str(resp, "session_token", token, 1024);
	free(resp);
	g_token = saved;
}

/* Adds a cashier and a manager to the client's store, pairs a terminal and logs both in; the requests
 * carry the manager's token from then on. */
static void auth_setup(const server *s, redstore_client *c, creds *k)
{
	char code[REDSTORE_PAIRING_CODE_SIZE], body[128], device[REDSTORE_DEVICE_TOKEN_SIZE], *resp = NULL;
	RS_OK(redstore_auth_employee_add(c, "cash1", "Casey", REDSTORE_ROLE_CASHIER, "1111"));
	RS_OK(redstore_auth_employee_add(c, "man1", "Morgan", REDSTORE_ROLE_MANAGER, "3333"));
	RS_OK(redstore_auth_pairing_code_new(code, c, "till 1"));
	snprintf(body, sizeof(body), "{\"code\":\"%s\"}", code);
	g_token = NULL;
	ck_assert_int_eq(http(s, "POST", "/v1/pair", NULL, body, &resp), 201);
	json_str(resp, "device_token", device, sizeof(device));
	free(resp);
	/* a pairing code works once */
	expect_error(s, "POST", "/v1/pair", NULL, body, 401, "unauthenticated");
	login(s, device, "cash1", "1111", k->cashier);
	login(s, device, "man1", "3333", k->manager);
	g_token = k->manager;
}

/* ------------------------------------------------------------ tests */

START_TEST(server_bad_requests_get_their_codes_and_change_nothing)
{
	server s;
	creds k;
	redstore_client *c = rs_test_client();
	char store[65], before[REDSTORE_STREAM_ID_SIZE], path[160], key[REDSTORE_ID_SIZE], *resp = NULL;
	char (*ids)[REDSTORE_STREAM_ID_SIZE];
	char *big;
	rs_test_store(c, "srvbad", store, 0);
	rs_test_product(c, "A", 250, "standard", REDSTORE_STOCK_DENY, 10);
	stream_now(c, before);
	server_start(&s, NULL);
	auth_setup(&s, c, &k);
	snprintf(path, sizeof(path), "/v1/stores/%s/sales", store);
	new_id(key);

	ck_assert_int_eq(http(&s, "GET", "/healthz", NULL, NULL, NULL), 200);
	expect_error(&s, "GET", "/v1/nothing/here", NULL, NULL, 404, "no_route");
	expect_error(&s, "GET", "/", NULL, NULL, 404, "no_route");
	expect_error(&s, "DELETE", path, key, NULL, 405, "method_not_allowed");
	expect_error(&s, "POST", "/healthz", NULL, "{}", 405, "method_not_allowed");
	/* a body over the limit (64 KiB by default), with a valid sale inside */
	big = malloc(70000);
	ck_assert_ptr_nonnull(big);
	{
		size_t n = (size_t)snprintf(big, 70000, "{\"lines\":[{\"sku\":\"A\",\"qty\":1}],\"note\":\"");
		memset(big + n, 'x', 69000 - n);
		snprintf(big + 69000, 1000, "\"}");
	}
	expect_error(&s, "POST", path, key, big, 413, "body_too_large");
	free(big);
	expect_error(&s, "POST", path, key, "{\"lines\":[{\"sku\":\"A\",\"qty\":1}", 400, "malformed_json");
	expect_error(&s, "POST", path, key, "{\"lines\":[{\"sku\":\"A\",\"qty\":1}]} x", 400, "malformed_json");
	expect_error(&s, "POST", path, key, "[1]", 400, "malformed_json");
	expect_error(&s, "POST", path, key, "", 400, "malformed_json");
	expect_error(&s, "POST", path, key, "{\"lines\":[{\"sku\":\"A\",\"qty\":1}],\"evil\":1}", 400, "invalid_body");
	expect_error(&s, "POST", path, key, "{\"lines\":[{\"sku\":\"A\",\"qty\":1}],\"note\":\"a\",\"note\":\"b\"}", 400,
	             "invalid_body");
	expect_error(&s, "POST", path, key, "{\"lines\":[{\"sku\":\"A\",\"qty\":\"1\"}]}", 400, "invalid_body");
	expect_error(&s, "POST", path, key, "{\"lines\":[{\"sku\":\"A\",\"qty\":1.5}]}", 400, "invalid_body");
	expect_error(&s, "POST", path, key, "{\"lines\":[{\"sku\":\"A\",\"qty\":1e300}]}", 400, "invalid_body");
	expect_error(&s, "POST", path, key, "{\"lines\":[]}", 400, "invalid_body");
	expect_error(&s, "POST", path, key, "{\"lines\":[{\"sku\":\"A\",\"barcode\":\"1\",\"qty\":1}]}", 400,
	             "invalid_body");
	/* a good line, then a bad one: nothing is sold */
	expect_error(&s, "POST", path, key, "{\"lines\":[{\"sku\":\"A\",\"qty\":1},{\"sku\":\"A\",\"qty\":0}]}", 400,
	             "invalid_body");
	expect_error(&s, "POST", path, key,
	             "{\"lines\":[{\"sku\":\"A\",\"qty\":1}],\"tenders\":[{\"kind\":\"gold\",\"amount\":5}]}", 400,
	             "invalid_body");
	expect_error(&s, "POST", path, NULL, "{\"lines\":[{\"sku\":\"A\",\"qty\":1}]}", 400, "idempotency_key_required");
	expect_error(&s, "POST", path, "not-a-uuid", "{\"lines\":[{\"sku\":\"A\",\"qty\":1}]}", 400,
	             "invalid_idempotency_key");
	expect_error(&s, "POST", path, key, "{\"lines\":[{\"sku\":\"A\",\"qty\":11}],\"tenders\":[{\"kind\":\"cash\",\"amount\":99999}]}", 409, "out_of_stock");
	expect_error(&s, "POST", path, key, "{\"lines\":[{\"sku\":\"GHOST\",\"qty\":1}],\"tenders\":[{\"kind\":\"cash\",\"amount\":99999}]}",
	             404, "not_found");
	snprintf(path, sizeof(path), "/v1/stores/%s/stock/adjustments", store);
	expect_error(&s, "POST", path, NULL, "{\"sku\":\"A\",\"delta\":-1,\"reason\":\"mislaid\"}", 400, "invalid_body");
	expect_error(&s, "POST", path, NULL, "{\"sku\":\"A\",\"delta\":-11,\"reason\":\"damage\"}", 422, "invalid");
	snprintf(path, sizeof(path), "/v1/stores/%s/stock/receipts", store);
	expect_error(&s, "POST", path, NULL, "{\"lines\":[{\"sku\":\"A\",\"qty\":-3}]}", 400, "invalid_body");
	/* a store the session is not for */
	expect_error(&s, "GET", "/v1/stores/bad%20store!/stock/A", NULL, NULL, 403, "forbidden");
	snprintf(path, sizeof(path), "/v1/stores/%s/events", store);
	{
		CURL *h = curl_easy_init();
		struct curl_slist *hdr = curl_slist_append(NULL, "Last-Event-ID: yesterday");
		char url[256], auth[1200];
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", g_token);
		hdr = curl_slist_append(hdr, auth);
		long st = 0;
		rs_http_buf b = { NULL, 0 };
		snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", s.port, path);
		curl_easy_setopt(h, CURLOPT_URL, url);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, rs_http_buf_write);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
		ck_assert_int_eq(curl_easy_perform(h), CURLE_OK);
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
		ck_assert_int_eq(st, 400);
		ck_assert_ptr_nonnull(strstr(b.p, "invalid_last_event_id"));
		free(b.p);
		curl_slist_free_all(hdr);
		curl_easy_cleanup(h);
	}
	/* nothing changed: same stock, no new change in the store's stream */
	ck_assert_int_eq(rs_test_available(c, "A"), 10);
	ck_assert_uint_eq(changes_after(c, before, &ids), 0);
	free(ids);
	/* the metrics counted the refusals */
	ck_assert_int_eq(http(&s, "GET", "/metrics", NULL, NULL, &resp), 200);
	ck_assert_ptr_nonnull(strstr(resp, "redstore_http_requests_total{status=\"413\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(resp, "redstore_http_requests_total{status=\"405\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(resp, "redstore_sse_connections 0\n"));
	free(resp);
	server_stop(&s);
	redstore_client_free(c);
}
END_TEST

START_TEST(server_rest_sells_once_per_idempotency_key_and_runs_stock_operations)
{
	server s;
	creds k;
	redstore_client *c = rs_test_client();
	char store[65], path[200], key[REDSTORE_ID_SIZE], key2[REDSTORE_ID_SIZE], *resp = NULL;
	const char *sale = "{\"lines\":[{\"sku\":\"A\",\"qty\":2},{\"barcode\":\"4006381333931\",\"qty\":1}],"
	                   "\"tenders\":[{\"kind\":\"cash\",\"amount\":5000}],\"note\":\"rest\"}";
	redstore_product p = { 0 };
	rs_test_store(c, "srvrest", store, 0);
	rs_test_product(c, "A", 250, "standard", REDSTORE_STOCK_DENY, 10);
	p.sku = "B";
	p.barcode = "4006381333931";
	p.name = "Bee";
	p.price = 100;
	p.active = 1;
	RS_OK(redstore_product_create(c, &p));
	{
		redstore_stock_line l = { "B", 5, 0 };
		redstore_stock_result *r;
		RS_OK(redstore_stock_receive(&r, c, NULL, NULL, 1, &l));
		redstore_stock_result_free(r);
	}
	server_start(&s, NULL);
	auth_setup(&s, c, &k);
	new_id(key);
	snprintf(path, sizeof(path), "/v1/stores/%s/sales", store);
	ck_assert_int_eq(http(&s, "POST", path, key, sale, &resp), 201);
	ck_assert_ptr_nonnull(strstr(resp, key));
	free(resp);
	/* the same key again: the first receipt, nothing sold twice */
	ck_assert_int_eq(http(&s, "POST", path, key, sale, &resp), 200);
	ck_assert_ptr_nonnull(strstr(resp, key));
	free(resp);
	ck_assert_int_eq(rs_test_available(c, "A"), 8);
	ck_assert_int_eq(rs_test_available(c, "B"), 4);
	snprintf(path, sizeof(path), "/v1/stores/%s/sales/%s", store, key);
	ck_assert_int_eq(http(&s, "GET", path, NULL, NULL, NULL), 200);
	/* catalog and stock */
	snprintf(path, sizeof(path), "/v1/stores/%s/products/A", store);
	ck_assert_int_eq(http(&s, "GET", path, NULL, NULL, &resp), 200);
	ck_assert_ptr_nonnull(strstr(resp, "\"price\":250"));
	free(resp);
	snprintf(path, sizeof(path), "/v1/stores/%s/barcodes/4006381333931", store);
	ck_assert_int_eq(http(&s, "GET", path, NULL, NULL, &resp), 200);
	ck_assert_ptr_nonnull(strstr(resp, "\"sku\":\"B\""));
	free(resp);
	snprintf(path, sizeof(path), "/v1/stores/%s/barcodes/999", store);
	expect_error(&s, "GET", path, NULL, NULL, 404, "not_found");
	snprintf(path, sizeof(path), "/v1/stores/%s/stock/A", store);
	ck_assert_int_eq(http(&s, "GET", path, NULL, NULL, &resp), 200);
	ck_assert_ptr_nonnull(strstr(resp, "\"available\":8"));
	free(resp);
	/* refund one A of the sale's line 0, then void the rest */
	new_id(key2);
	snprintf(path, sizeof(path), "/v1/stores/%s/sales/%s/refunds", store, key);
	ck_assert_int_eq(http(&s, "POST", path, key2, "{\"lines\":[{\"line\":0,\"qty\":1}],\"restock\":true}", NULL), 201);
	ck_assert_int_eq(http(&s, "POST", path, key2, "{\"lines\":[{\"line\":0,\"qty\":1}],\"restock\":true}", NULL), 200);
	ck_assert_int_eq(rs_test_available(c, "A"), 9);
	snprintf(path, sizeof(path), "/v1/stores/%s/sales/%s/void", store, key);
	ck_assert_int_eq(http(&s, "POST", path, NULL, "{\"reason\":\"customer left\"}", NULL), 201);
	expect_error(&s, "POST", path, NULL, "{\"reason\":\"again\"}", 409, "conflict");
	ck_assert_int_eq(rs_test_available(c, "A"), 10);
	ck_assert_int_eq(rs_test_available(c, "B"), 5);
	/* stock operations, each once by its key */
	new_id(key2);
	snprintf(path, sizeof(path), "/v1/stores/%s/stock/receipts", store);
	ck_assert_int_eq(http(&s, "POST", path, key2, "{\"supplier_ref\":\"DN-1\",\"lines\":[{\"sku\":\"A\",\"qty\":5,"
	                                              "\"unit_cost\":90}]}", NULL), 201);
	ck_assert_int_eq(http(&s, "POST", path, key2, "{\"supplier_ref\":\"DN-1\",\"lines\":[{\"sku\":\"A\",\"qty\":5,"
	                                              "\"unit_cost\":90}]}", &resp), 200);
	ck_assert_ptr_nonnull(strstr(resp, "\"duplicate\":true"));
	free(resp);
	ck_assert_int_eq(rs_test_available(c, "A"), 15);
	snprintf(path, sizeof(path), "/v1/stores/%s/stock/adjustments", store);
	ck_assert_int_eq(http(&s, "POST", path, NULL, "{\"sku\":\"A\",\"delta\":-2,\"reason\":\"damage\",\"note\":\"x\"}",
	                      &resp), 201);
	ck_assert_ptr_nonnull(strstr(resp, "\"on_hand\":13"));
	free(resp);
	snprintf(path, sizeof(path), "/v1/stores/%s/stock/counts", store);
	ck_assert_int_eq(http(&s, "POST", path, NULL, "{\"lines\":[{\"sku\":\"A\",\"qty\":7}]}", &resp), 201);
	ck_assert_ptr_nonnull(strstr(resp, "\"delta\":-6"));
	free(resp);
	ck_assert_int_eq(rs_test_available(c, "A"), 7);
	server_stop(&s);
	redstore_client_free(c);
}
END_TEST

START_TEST(server_sse_delivers_every_change_in_order_and_resumes_from_last_event_id)
{
	server s;
	creds k;
	redstore_client *c = rs_test_client();
	char store[65], start[REDSTORE_STREAM_ID_SIZE], ids[40][REDSTORE_STREAM_ID_SIZE];
	sse_run *live, *resumed, *late;
	rs_test_store(c, "srvsse", store, 0);
	rs_test_product(c, "A", 100, "standard", REDSTORE_STOCK_DENY, 1000);
	stream_now(c, start);
	server_start(&s, NULL);
	auth_setup(&s, c, &k);
	live = sse_start(&s, store, start, 0);
	for (int i = 0; i < 30; i++)
		rs_test_sell(c, "A", 1, ids[i]);
	ck_assert_uint_eq(sse_wait(live, 30, 20000), 30);
	for (int i = 0; i < 30; i++)
		ck_assert_str_eq(live->c.ids[i], ids[i]);
	ck_assert_int_eq(atomic_load(&live->c.bad), 0);
	/* a reconnect with the 10th id gets exactly the 20 after it, then the live ones */
	resumed = sse_start(&s, store, ids[9], 0);
	ck_assert_uint_eq(sse_wait(resumed, 20, 20000), 20);
	for (int i = 0; i < 20; i++)
		ck_assert_str_eq(resumed->c.ids[i], ids[10 + i]);
	/* a client current to the last id, then 10 more sales: all three streams get exactly those */
	late = sse_start(&s, store, ids[29], 0);
	for (int i = 30; i < 40; i++)
		rs_test_sell(c, "A", 1, ids[i]);
	ck_assert_uint_eq(sse_wait(live, 40, 20000), 40);
	ck_assert_uint_eq(sse_wait(resumed, 30, 20000), 30);
	ck_assert_uint_eq(sse_wait(late, 10, 20000), 10);
	for (int i = 30; i < 40; i++) {
		ck_assert_str_eq(live->c.ids[i], ids[i]);
		ck_assert_str_eq(resumed->c.ids[i - 10], ids[i]);
		ck_assert_str_eq(late->c.ids[i - 30], ids[i]);
	}
	/* nothing more, nothing twice: a heartbeat comes while idle, and no extra change */
	{
		int64_t deadline = rs_test_now_ms() + 10000;
		int hb = atomic_load(&late->c.heartbeats);
		while (atomic_load(&late->c.heartbeats) <= hb + 1 && rs_test_now_ms() < deadline)
			rs_test_pause_ms(5);
		ck_assert_int_gt(atomic_load(&late->c.heartbeats), hb + 1);
	}
	ck_assert_uint_eq(atomic_load(&live->c.count), 40);
	ck_assert_uint_eq(atomic_load(&late->c.count), 10);
	ck_assert_int_eq(atomic_load(&live->c.resync), 0);
	sse_finish(live);
	sse_finish(resumed);
	sse_finish(late);
	server_stop(&s);
	redstore_client_free(c);
}
END_TEST

START_TEST(server_sse_too_old_last_event_id_gets_resync)
{
	server s;
	creds k;
	redstore_config *cfg = rs_test_config();
	redstore_client *c;
	char store[65], first[REDSTORE_STREAM_ID_SIZE], last[REDSTORE_STREAM_ID_SIZE];
	sse_run *old, *ok;
	RS_OK(redstore_config_set(cfg, "sync.stream_maxlen", "100"));
	RS_OK(redstore_client_new(&c, cfg));
	redstore_config_free(cfg);
	rs_test_store(c, "srvold", store, 0);
	rs_test_product(c, "A", 100, "standard", REDSTORE_STOCK_DENY, 1000);
	rs_test_sell(c, "A", 1, first);
	for (int i = 0; i < 250; i++)
		rs_test_sell(c, "A", 1, last);
	server_start(&s, NULL);
	auth_setup(&s, c, &k);
	old = sse_start(&s, store, first, 0);
	ok = sse_start(&s, store, last, 0);
	{
		int64_t deadline = rs_test_now_ms() + 20000;
		while (!atomic_load(&old->c.ended) && rs_test_now_ms() < deadline)
			rs_test_pause_ms(5);
	}
	ck_assert_int_eq(atomic_load(&old->c.resync), 1);
	ck_assert_int_eq(atomic_load(&old->c.ended), 1); /* the server closed the stream after resync */
	ck_assert_uint_eq(atomic_load(&old->c.count), 0);
	/* a current id is no resync */
	rs_test_sell(c, "A", 1, last);
	ck_assert_uint_eq(sse_wait(ok, 1, 20000), 1);
	ck_assert_str_eq(ok->c.ids[0], last);
	ck_assert_int_eq(atomic_load(&ok->c.resync), 0);
	sse_finish(old);
	sse_finish(ok);
	server_stop(&s);
	redstore_client_free(c);
}
END_TEST

/* A raw socket with a small receive buffer that sends the request and then reads nothing. */
static int stalled_client(int port, const char *store, const char *last)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), small = 4096;
	struct sockaddr_in a;
	char req[2048];
	ck_assert_int_ge(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	snprintf(req, sizeof(req),
	         "GET /v1/stores/%s/events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: %s\r\nAuthorization: Bearer %s\r\n\r\n",
	         store, last, g_token);
	ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	return fd;
}

START_TEST(server_sse_slow_client_is_cut_off_with_resync)
{
	server s;
	creds k;
	const char *args[] = { "--sse-buffer", "32", "--sndbuf", "4096", NULL };
	redstore_client *c = rs_test_client();
	char store[65], start[REDSTORE_STREAM_ID_SIZE], id[REDSTORE_STREAM_ID_SIZE];
	char *got = NULL;
	size_t n = 0;
	int fd;
	sse_run *fast;
	rs_test_store(c, "srvslow", store, 0);
	rs_test_product(c, "A", 100, "standard", REDSTORE_STOCK_DENY, 100000);
	stream_now(c, start);
	server_start(&s, args);
	auth_setup(&s, c, &k);
	fd = stalled_client(s.port, store, start);
	fast = sse_start(&s, store, start, 0);
	/* enough changes to fill the stalled socket's buffers several times over */
	for (int i = 0; i < 400; i++)
		rs_test_sell(c, "A", 1, id);
	ck_assert_uint_eq(sse_wait(fast, 400, 30000), 400);
	ck_assert_int_eq(atomic_load(&fast->c.resync), 0);
	/* now read the stalled client: a gapless prefix, then resync, then the end of the stream */
	{
		struct timeval tv = { 10, 0 };
		char b[65536];
		ssize_t got_n;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		while ((got_n = read(fd, b, sizeof(b))) > 0) {
			got = realloc(got, n + (size_t)got_n + 1);
			memcpy(got + n, b, (size_t)got_n);
			n += (size_t)got_n;
			got[n] = '\0';
			if (strstr(got, "event: resync") && strstr(got, "\r\n0\r\n\r\n"))
				break;
		}
	}
	ck_assert_ptr_nonnull(got);
	ck_assert_msg(strstr(got, "event: resync") != NULL, "no resync for a client that stopped reading");
	{
		/* the events before the resync are the first ones, in order */
		size_t idx = 0;
		for (char *p = strstr(got, "\nid: "); p; p = strstr(p + 1, "\nid: ")) {
			char e[REDSTORE_STREAM_ID_SIZE];
			sscanf(p + 5, "%47[0-9-]", e);
			ck_assert_str_eq(e, fast->c.ids[idx]);
			idx++;
		}
		ck_assert_uint_lt(idx, 400);
	}
	free(got);
	close(fd);
	sse_finish(fast);
	server_stop(&s);
	redstore_client_free(c);
}
END_TEST

/* The status of an SSE request that authenticates with ?access_token= (EventSource cannot send headers). */
static long sse_status_with_query_token(const server *s, const char *store, const char *token)
{
	CURL *h = curl_easy_init();
	char *esc = curl_easy_escape(h, token, 0), url[1536];
	long st = 0;
	rs_http_buf b = { NULL, 0 };
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/stores/%s/events?access_token=%s", s->port, store, esc);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, rs_http_buf_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 1500L); /* a stream does not end by itself */
	curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
	if (st == 200)
		ck_assert_msg(b.p && !strncmp(b.p, "retry: ", 7), "the stream did not start: %s", b.p ? b.p : "");
	free(b.p);
	curl_free(esc);
	curl_easy_cleanup(h);
	return st;
}

START_TEST(server_every_endpoint_authenticates_and_authorises)
{
	server s;
	creds k, ko;
	redstore_client *c = rs_test_client(), *o = rs_test_client();
	char store[65], other[65], before[REDSTORE_STREAM_ID_SIZE], sale_id[REDSTORE_ID_SIZE], key[REDSTORE_ID_SIZE];
	char forged[1024], path[256];
	char (*ids)[REDSTORE_STREAM_ID_SIZE];
	const char *sale = "{\"lines\":[{\"sku\":\"A\",\"qty\":1}],\"tenders\":[{\"kind\":\"cash\",\"amount\":5000}]}";
	struct {
		const char *method, *suffix, *body;
		int cashier_may;
	} eps[] = {
		{ "GET", "products/A", NULL, 1 },
		{ "GET", "barcodes/123", NULL, 1 },
		{ "GET", "stock/A", NULL, 1 },
		{ "GET", "snapshot", NULL, 1 },
		{ "GET", "events", NULL, 1 },
		{ "POST", "sales", sale, 1 },
		{ "GET", "sales/%s", NULL, 1 },
		{ "POST", "sales/%s/void", "{\"reason\":\"x\"}", 0 },
		{ "POST", "sales/%s/refunds", "{\"lines\":[{\"line\":0,\"qty\":1}]}", 0 },
		{ "POST", "stock/receipts", "{\"lines\":[{\"sku\":\"A\",\"qty\":5}]}", 0 },
		{ "POST", "stock/adjustments", "{\"sku\":\"A\",\"delta\":-1,\"reason\":\"theft\"}", 0 },
		{ "POST", "stock/counts", "{\"lines\":[{\"sku\":\"A\",\"qty\":0}]}", 0 },
		{ "POST", "pairing-codes", "{\"name\":\"till 9\"}", 0 },
		{ "GET", "products?q=a", NULL, 1 },
		{ "POST", "sales/quote", sale, 1 },
		{ "GET", "reports/sales?from=0&to=1000", NULL, 0 },
		{ "GET", "reports/top-products?from=0&to=1000", NULL, 0 },
		{ "GET", "reports/reorder", NULL, 0 },
	};
	rs_test_store(c, "srvauth", store, 0);
	rs_test_product(c, "A", 250, "standard", REDSTORE_STOCK_DENY, 10);
	rs_test_store(o, "srvauth2", other, 0);
	server_start(&s, NULL);
	auth_setup(&s, o, &ko);
	auth_setup(&s, c, &k);
	new_id(sale_id);
	snprintf(path, sizeof(path), "/v1/stores/%s/sales", store);
	ck_assert_int_eq(http(&s, "POST", path, sale_id, sale, NULL), 201);
	stream_now(c, before);
	snprintf(forged, sizeof(forged), "%s", k.manager);
	forged[strlen(forged) - 1] = forged[strlen(forged) - 1] == '0' ? '1' : '0';
	for (size_t i = 0; i < sizeof(eps) / sizeof(eps[0]); i++) {
		char suffix[128];
		snprintf(suffix, sizeof(suffix), eps[i].suffix, sale_id);
		snprintf(path, sizeof(path), "/v1/stores/%s/%s", store, suffix);
		new_id(key);
		g_token = NULL;
		expect_error(&s, eps[i].method, path, key, eps[i].body, 401, "unauthenticated");
		g_token = forged;
		expect_error(&s, eps[i].method, path, key, eps[i].body, 401, "unauthenticated");
		g_token = ko.manager; /* a manager of another store */
		expect_error(&s, eps[i].method, path, key, eps[i].body, 403, "forbidden");
		if (!eps[i].cashier_may) {
			g_token = k.cashier;
			expect_error(&s, eps[i].method, path, key, eps[i].body, 403, "forbidden");
		}
	}
	/* none of it changed anything */
	ck_assert_int_eq(rs_test_available(c, "A"), 9);
	ck_assert_uint_eq(changes_after(c, before, &ids), 0);
	free(ids);
	/* what a cashier may do, it does; a browser's EventSource authenticates in the query */
	g_token = k.cashier;
	new_id(key);
	snprintf(path, sizeof(path), "/v1/stores/%s/sales", store);
	ck_assert_int_eq(http(&s, "POST", path, key, sale, NULL), 201);
	ck_assert_int_eq(rs_test_available(c, "A"), 8);
	ck_assert_int_eq(sse_status_with_query_token(&s, store, k.cashier), 200);
	ck_assert_int_eq(sse_status_with_query_token(&s, store, forged), 401);
	ck_assert_int_eq(sse_status_with_query_token(&s, other, k.cashier), 403);
	/* and the manager's void goes through */
	g_token = k.manager;
	snprintf(path, sizeof(path), "/v1/stores/%s/sales/%s/void", store, sale_id);
	ck_assert_int_eq(http(&s, "POST", path, NULL, "{\"reason\":\"wrong item\"}", NULL), 201);
	ck_assert_int_eq(rs_test_available(c, "A"), 9);
	server_stop(&s);
	redstore_client_free(o);
	redstore_client_free(c);
}
END_TEST

/* ------------------------------------------------------------ 200 clients, 5,000 sales */

#define FAN_CLIENTS 200
#define FAN_THREADS 4
#define FAN_SALES 5000

typedef struct fan {
	const server *s;
	const char *store;
	const char *start;
	sse *clients; /* FAN_CLIENTS / FAN_THREADS of them */
	int n;
	atomic_int *stop;
} fan;

static void *fan_thread(void *arg)
{
	fan *f = arg;
	CURLM *m = curl_multi_init();
	CURL *h[FAN_CLIENTS];
	struct curl_slist *hdr[FAN_CLIENTS];
	int running = 1;
	for (int i = 0; i < f->n; i++) {
		h[i] = sse_handle(&f->clients[i], f->s, f->store, f->start, &hdr[i]);
		curl_multi_add_handle(m, h[i]);
	}
	while (!atomic_load(f->stop) && running) {
		curl_multi_perform(m, &running);
		curl_multi_poll(m, NULL, 0, 100, NULL);
	}
	for (int i = 0; i < f->n; i++) {
		curl_multi_remove_handle(m, h[i]);
		curl_easy_cleanup(h[i]);
		curl_slist_free_all(hdr[i]);
	}
	curl_multi_cleanup(m);
	return NULL;
}

typedef struct seller {
	const char *store;
	int from, to;
	atomic_int *failed;
} seller;

static void *seller_thread(void *arg)
{
	seller *w = arg;
	redstore_client *c = rs_test_client();
	redstore_sale *sales[25];
	redstore_receipt *out[25];
	int rcs[25];
	if (redstore_client_use_store(c, w->store))
		atomic_store(w->failed, 1);
	for (int i = w->from; i < w->to && !atomic_load(w->failed); i += 25) {
		size_t n = 0;
		for (int j = i; j < w->to && n < 25; j++, n++) {
			redstore_sale_new(&sales[n], NULL);
			redstore_sale_add_line(sales[n], j % 2 ? "A" : "B", 1, NULL);
			redstore_sale_add_tender(sales[n], REDSTORE_TENDER_CASH, 100000, NULL);
		}
		if (redstore_sale_commit_many(out, rcs, c, n, (const redstore_sale *const *)sales))
			atomic_store(w->failed, 1);
		for (size_t j = 0; j < n; j++) {
			if (rcs[j])
				atomic_store(w->failed, 1);
			redstore_receipt_free(out[j]);
			redstore_sale_free(sales[j]);
		}
	}
	redstore_client_free(c);
	return NULL;
}

START_TEST(server_sse_200_clients_receive_every_change_of_5000_sales_in_order)
{
	server s;
	creds k;
	const char *args[] = { "--threads", "4", NULL };
	redstore_client *c = rs_test_client();
	char store[65], start[REDSTORE_STREAM_ID_SIZE];
	char (*want)[REDSTORE_STREAM_ID_SIZE];
	sse *clients = calloc(FAN_CLIENTS, sizeof(*clients));
	fan f[FAN_THREADS];
	seller w[4];
	pthread_t ft[FAN_THREADS], st[4];
	atomic_int stop = 0, failed = 0;
	size_t n_want;
	int64_t deadline;
	ck_assert_ptr_nonnull(clients);
	rs_test_store(c, "srvfan", store, 0);
	rs_test_product(c, "A", 100, "", REDSTORE_STOCK_ALLOW, 10000);
	rs_test_product(c, "B", 100, "", REDSTORE_STOCK_ALLOW, 10000);
	stream_now(c, start);
	server_start(&s, args);
	auth_setup(&s, c, &k);
	for (int t = 0; t < FAN_THREADS; t++) {
		f[t] = (fan){ &s, store, start, clients + t * (FAN_CLIENTS / FAN_THREADS), FAN_CLIENTS / FAN_THREADS, &stop };
		ck_assert_int_eq(pthread_create(&ft[t], NULL, fan_thread, &f[t]), 0);
	}
	/* every client connected before the first sale (they resume from `start` anyway) */
	deadline = rs_test_now_ms() + 30000;
	for (;;) {
		char *m = NULL, needle[64];
		snprintf(needle, sizeof(needle), "redstore_sse_connections %d\n", FAN_CLIENTS);
		http(&s, "GET", "/metrics", NULL, NULL, &m);
		if (strstr(m, needle)) {
			free(m);
			break;
		}
		free(m);
		ck_assert_msg(rs_test_now_ms() < deadline, "200 SSE clients did not connect within 30 s");
		rs_test_pause_ms(5);
	}
	for (int i = 0; i < 4; i++) {
		w[i] = (seller){ store, i * (FAN_SALES / 4), (i + 1) * (FAN_SALES / 4), &failed };
		ck_assert_int_eq(pthread_create(&st[i], NULL, seller_thread, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(st[i], NULL);
	ck_assert_int_eq(atomic_load(&failed), 0);
	n_want = changes_after(c, start, &want);
	ck_assert_uint_eq(n_want, FAN_SALES);
	deadline = rs_test_now_ms() + 120000;
	for (int i = 0; i < FAN_CLIENTS; i++)
		while (atomic_load(&clients[i].count) < n_want && rs_test_now_ms() < deadline)
			rs_test_pause_ms(5);
	atomic_store(&stop, 1);
	for (int t = 0; t < FAN_THREADS; t++)
		pthread_join(ft[t], NULL);
	for (int i = 0; i < FAN_CLIENTS; i++) {
		ck_assert_msg(atomic_load(&clients[i].count) == n_want, "client %d got %zu of %zu changes", i,
		              atomic_load(&clients[i].count), n_want);
		ck_assert_int_eq(atomic_load(&clients[i].bad), 0);
		ck_assert_int_eq(atomic_load(&clients[i].resync), 0);
		for (size_t e = 0; e < n_want; e++)
			ck_assert_msg(!strcmp(clients[i].ids[e], want[e]), "client %d: change %zu is %s, expected %s", i, e,
			              clients[i].ids[e], want[e]);
		free(clients[i].ids);
	}
	{
		/* the hub read each change once, whatever the number of clients */
		char *m = NULL, needle[64];
		http(&s, "GET", "/metrics", NULL, NULL, &m);
		snprintf(needle, sizeof(needle), "redstore_hub_events_total %d\n", FAN_SALES);
		ck_assert_msg(strstr(m, needle) != NULL, "hub events: %s", m);
		free(m);
	}
	free(want);
	free(clients);
	server_stop(&s);
	redstore_client_free(c);
}
END_TEST


static void wait_ended(sse_run *r, int timeout_ms)
{
	int64_t deadline = rs_test_now_ms() + timeout_ms;
	while (!atomic_load(&r->c.ended) && rs_test_now_ms() < deadline)
		rs_test_pause_ms(10);
}

START_TEST(server_sse_stream_ends_unauthorized_at_expiry_and_when_the_terminal_is_revoked)
{
	server s;
	const char *args[] = { "--sse-reauth-ms", "200", NULL };
	redstore_client *c = rs_test_client();
	char store[65], code[REDSTORE_PAIRING_CODE_SIZE], dev1[REDSTORE_DEVICE_TOKEN_SIZE], term1[REDSTORE_ID_SIZE];
	char dev2[REDSTORE_DEVICE_TOKEN_SIZE], term2[REDSTORE_ID_SIZE], short_tok[1024], long_tok[1024], other[1024];
	char path[160], id[REDSTORE_STREAM_ID_SIZE], start[REDSTORE_STREAM_ID_SIZE];
	sse_run *brief, *lasting, *bystander;
	int64_t issued;
	rs_test_store(c, "srvreauth", store, 0);
	rs_test_product(c, "A", 100, "standard", REDSTORE_STOCK_DENY, 100);
	RS_OK(redstore_auth_employee_add(c, "cash1", "Casey", REDSTORE_ROLE_CASHIER, "1111"));
	RS_OK(redstore_auth_pairing_code_new(code, c, "till 1"));
	RS_OK(redstore_auth_pair(dev1, term1, c, code));
	RS_OK(redstore_auth_pairing_code_new(code, c, "till 2"));
	RS_OK(redstore_auth_pair(dev2, term2, c, code));
	server_start(&s, args);
	/* every stream starts after the same id, so each gets the sale below whenever it connects */
	stream_now(c, start);
	rs_test_login_ttl(store, dev1, "cash1", "1111", 3600, long_tok);
	rs_test_login_ttl(store, dev2, "cash1", "1111", 3600, other);
	g_token = long_tok;
	lasting = sse_start(&s, store, start, 0);
	g_token = other;
	bystander = sse_start(&s, store, start, 0);
	/* the short session last, so its 3 s run from here */
	issued = rs_test_now_ms();
	rs_test_login_ttl(store, dev1, "cash1", "1111", 3, short_tok);
	g_token = short_tok;
	brief = sse_start(&s, store, start, 0);
	/* all three are live: a sale reaches each */
	rs_test_sell(c, "A", 1, id);
	ck_assert_uint_eq(sse_wait(brief, 1, 10000), 1);
	ck_assert_uint_eq(sse_wait(lasting, 1, 10000), 1);
	ck_assert_uint_eq(sse_wait(bystander, 1, 10000), 1);
	/* the short session's stream ends with `unauthorized` once its token expires, not before */
	wait_ended(brief, 15000);
	ck_assert_int_eq(atomic_load(&brief->c.ended), 1);
	ck_assert_int_eq(atomic_load(&brief->c.unauthorized), 1);
	ck_assert_int_ge(rs_test_now_ms() - issued, 2900); /* not before the token expired (3 s after login) */
	/* the same token again is refused at the door */
	g_token = short_tok;
	snprintf(path, sizeof(path), "/v1/stores/%s/events", store);
	expect_error(&s, "GET", path, NULL, NULL, 401, "unauthenticated");
	/* valid sessions lived through many re-verifications (every 200 ms) */
	ck_assert_int_eq(atomic_load(&lasting->c.ended), 0);
	ck_assert_int_eq(atomic_load(&bystander->c.ended), 0);
	ck_assert_int_eq(atomic_load(&lasting->c.unauthorized), 0);
	/* revoking till 1 ends its live stream within the re-verification period; till 2's goes on */
	RS_OK(redstore_auth_terminal_revoke(c, term1));
	wait_ended(lasting, 10000);
	ck_assert_int_eq(atomic_load(&lasting->c.ended), 1);
	ck_assert_int_eq(atomic_load(&lasting->c.unauthorized), 1);
	{
		size_t before = atomic_load(&bystander->c.count);
		rs_test_sell(c, "A", 1, id);
		ck_assert_uint_eq(sse_wait(bystander, before + 1, 10000), before + 1);
		ck_assert_int_eq(atomic_load(&bystander->c.ended), 0);
		ck_assert_int_eq(atomic_load(&bystander->c.unauthorized), 0);
	}
	sse_finish(brief);
	sse_finish(lasting);
	sse_finish(bystander);
	server_stop(&s);
	redstore_client_free(c);
}
END_TEST

static Suite *server_suite(void)
{
	Suite *s = suite_create("server");
	TCase *t = tcase_create("server"), *heavy = tcase_create("server_heavy");
	tcase_set_timeout(t, 300);
	tcase_add_test(t, server_bad_requests_get_their_codes_and_change_nothing);
	tcase_add_test(t, server_rest_sells_once_per_idempotency_key_and_runs_stock_operations);
	tcase_add_test(t, server_every_endpoint_authenticates_and_authorises);
	tcase_add_test(t, server_sse_delivers_every_change_in_order_and_resumes_from_last_event_id);
	tcase_add_test(t, server_sse_too_old_last_event_id_gets_resync);
	tcase_add_test(t, server_sse_slow_client_is_cut_off_with_resync);
	tcase_add_test(t, server_sse_stream_ends_unauthorized_at_expiry_and_when_the_terminal_is_revoked);
	suite_add_tcase(s, t);
	tcase_set_tags(heavy, "heavy");
	tcase_set_timeout(heavy, 600);
	tcase_add_test(heavy, server_sse_200_clients_receive_every_change_of_5000_sales_in_order);
	suite_add_tcase(s, heavy);
	return s;
}

int main(void)
{
	return rs_test_server_main(server_suite(), AUTH_SECRET);
}
