/* The in-store bridge against the real redstore-server and the dev stack, both as child processes on free
 * ports: a sale through the bridge lands exactly once; sales made while the server is stopped are
 * journaled (202) and replayed in order, each exactly once, when it is back; a sale the server refuses
 * after the offline period stays in the journal as rejected with the reason; local SSE clients receive
 * every change, in order, from one upstream stream; a local reconnect with Last-Event-ID misses nothing,
 * and an id older than the bridge's ring gets resync. */
#include "http.h"
#include "server.h"
#include "testutil.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define AUTH_SECRET "bridge-test-secret-0123456789-abcdefghij"
#define LOCAL_TOKEN "local-terminal-token-0123456789"

static cJSON *parse(const char *json)
{
	cJSON *root = cJSON_Parse(json ? json : "");
	ck_assert_msg(root != NULL, "not JSON: %s", json ? json : "(null)");
	return root;
}

static const char *str_at(const cJSON *o, const char *name)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);
	ck_assert_msg(cJSON_IsString(x), "no string \"%s\"", name);
	return x->valuestring;
}

static double num_at(const cJSON *o, const char *name)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);
	ck_assert_msg(cJSON_IsNumber(x), "no number \"%s\"", name);
	return x->valuedouble;
}

/* ------------------------------------------------------------ the stack: server, session, bridge */

typedef struct stack {
	redstore_client *c;
	char store[65];
	rs_test_server server, bridge;
	char token[1024];
	char device[REDSTORE_DEVICE_TOKEN_SIZE]; /* the paired till's */
	char jdir[64], journal[160];
} stack;

/* A cashier's session on a terminal paired through the server. */
static void login(stack *k)
{
	char code[REDSTORE_PAIRING_CODE_SIZE], body[256], *resp = NULL;
	cJSON *root;
	RS_OK(redstore_auth_employee_add(k->c, "cash1", "Casey", REDSTORE_ROLE_CASHIER, "1111"));
	RS_OK(redstore_auth_pairing_code_new(code, k->c, "bridge"));
	snprintf(body, sizeof(body), "{\"code\":\"%s\"}", code);
	ck_assert_int_eq(rs_http(k->server.port, NULL, "POST", "/v1/pair", NULL, body, 10000, &resp, NULL), 201);
	root = parse(resp);
	snprintf(k->device, sizeof(k->device), "%s", str_at(root, "device_token"));
	snprintf(body, sizeof(body), "{\"device_token\":\"%s\",\"employee_id\":\"cash1\",\"pin\":\"1111\"}",
	         k->device);
	cJSON_Delete(root);
	free(resp);
	ck_assert_int_eq(rs_http(k->server.port, NULL, "POST", "/v1/sessions", NULL, body, 10000, &resp, NULL), 201);
	root = parse(resp);
	snprintf(k->token, sizeof(k->token), "%s", str_at(root, "session_token"));
	cJSON_Delete(root);
	free(resp);
}

/* The bridge on a free port; `extra` (NULL-terminated, or NULL) adds flags. */
static void bridge_start(stack *k, const char *ring_events, const char *const *extra)
{
	char upstream[64];
	const char *args[32] = { "--listen", "127.0.0.1:0", "--upstream", upstream, "--store", k->store, "--token",
		                     k->token, "--journal", k->journal, "--heartbeat-ms", "300", "--retry-max-ms", "300",
		                     "--upstream-timeout-ms", "2000", "--ring-events", ring_events, NULL };
	int n = 18;
	for (; extra && *extra && n < 30; extra++)
		args[n++] = *extra;
	args[n] = NULL;
	snprintf(upstream, sizeof(upstream), "http://127.0.0.1:%d", k->server.port);
	/* the local token from the environment, the rest as flags: both ways in */
	setenv("REDSTORE_BRIDGE_LOCAL_TOKEN", LOCAL_TOKEN, 1);
	rs_test_program_start(&k->bridge, rs_test_env("REDSTORE_BRIDGE_BIN"), args);
	unsetenv("REDSTORE_BRIDGE_LOCAL_TOKEN");
}

/* A store with product A (stock), the server, a session, the bridge (with `extra` flags). */
static void stack_up_with(stack *k, const char *prefix, int64_t stock, const char *ring_events,
                          const char *const *extra)
{
	memset(k, 0, sizeof(*k));
	k->c = rs_test_client();
	rs_test_store(k->c, prefix, k->store, 0);
	rs_test_product(k->c, "A", 250, "standard", REDSTORE_STOCK_DENY, stock);
	rs_test_server_start(&k->server, NULL);
	login(k);
	snprintf(k->jdir, sizeof(k->jdir), "/tmp/rs-bridge-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(k->jdir));
	snprintf(k->journal, sizeof(k->journal), "%s/journal.db", k->jdir);
	bridge_start(k, ring_events, extra);
}

static void stack_up(stack *k, const char *prefix, int64_t stock, const char *ring_events)
{
	stack_up_with(k, prefix, stock, ring_events, NULL);
}

static void stack_down(stack *k)
{
	const char *suffix[] = { "", "-wal", "-shm" };
	char p[200];
	rs_test_server_stop(&k->bridge);
	rs_test_server_stop(&k->server);
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", k->journal, suffix[i]);
		unlink(p);
	}
	rmdir(k->jdir);
	redstore_client_free(k->c);
}

/* The server again on the port it had, so the bridge's upstream URL stays right. */
static void server_restart(stack *k)
{
	char port[16];
	const char *args[] = { "--port", port, NULL };
	snprintf(port, sizeof(port), "%d", k->server.port);
	rs_test_server_start(&k->server, args);
}

/* A request to the bridge with the local token. */
static long bridge_req(stack *k, const char *method, const char *path, const char *idem, const char *body,
                       char **out)
{
	return rs_http(k->bridge.port, LOCAL_TOKEN, method, path, idem, body, 20000, out, NULL);
}

static const char SALE_BODY[] =
	"{\"lines\":[{\"sku\":\"A\",\"qty\":1}],\"tenders\":[{\"kind\":\"cash\",\"amount\":100000}]}";

static long bridge_sell(stack *k, const char *sale_id, char **out)
{
	char path[128];
	snprintf(path, sizeof(path), "/v1/stores/%s/sales", k->store);
	return bridge_req(k, "POST", path, sale_id, SALE_BODY, out);
}

/* GET /v1/bridge/journal, parsed. */
static cJSON *journal(stack *k)
{
	char *resp = NULL;
	cJSON *root;
	ck_assert_int_eq(bridge_req(k, "GET", "/v1/bridge/journal", NULL, NULL, &resp), 200);
	root = parse(resp);
	free(resp);
	return root;
}

static long journal_count(stack *k, const char *state)
{
	cJSON *root = journal(k);
	long n = (long)num_at(cJSON_GetObjectItemCaseSensitive(root, "counts"), state);
	cJSON_Delete(root);
	return n;
}

/* Waits (20 s at most) until nothing is pending and `settled` sales are synced or rejected. */
static void wait_settled(stack *k, long settled)
{
	int64_t deadline = rs_test_now_ms() + 20000;
	for (;;) {
		long pending = journal_count(k, "pending"), done = journal_count(k, "synced") + journal_count(k, "rejected");
		if (pending == 0 && done == settled)
			return;
		ck_assert_msg(rs_test_now_ms() < deadline, "the bridge did not replay: %ld pending, %ld settled (want %ld)", pending,
		              done, settled);
		rs_test_pause_ms(10);
	}
}

/* Waits (15 s at most) until the bridge's /healthz holds `needle`. */
static void wait_health(stack *k, const char *needle)
{
	int64_t deadline = rs_test_now_ms() + 15000;
	for (;;) {
		char *resp = NULL;
		int ok = rs_http(k->bridge.port, NULL, "GET", "/healthz", NULL, NULL, 10000, &resp, NULL) == 200 && resp &&
		         strstr(resp, needle);
		ck_assert_msg(ok || rs_test_now_ms() < deadline, "the bridge's health never said %s: %s", needle,
		              resp ? resp : "(none)");
		free(resp);
		if (ok)
			return;
		rs_test_pause_ms(10);
	}
}

/* The bridge's upstream stream is running (it starts after the server gave it a snapshot). */
static void wait_upstream(stack *k)
{
	wait_health(k, "\"upstream\":true");
}

static int64_t sales_in_stream(redstore_client *c, const char *after, char ops[][65], int cap)
{
	redstore_changes *chs;
	int n = 0;
	RS_OK(redstore_sync_read(&chs, c, after, 1000, 0));
	ck_assert_int_eq(chs->resync, 0);
	for (size_t i = 0; i < chs->count; i++)
		if (!strcmp(chs->items[i].type, "sale.completed") && n < cap)
			snprintf(ops[n++], 65, "%s", chs->items[i].op_id);
	redstore_changes_free(chs);
	return n;
}

/* A TCP connection to the bridge; rcvbuf > 0 shrinks its receive buffer (a slow terminal's socket). */
static int raw_connect(stack *k, int rcvbuf)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	if (rcvbuf > 0)
		ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)), 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)k->bridge.port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* The status of a raw request (sent as is) to the bridge: headers no client library would send. */
static int raw_status(stack *k, const char *head, size_t filler)
{
	char buf[64] = "";
	int fd = raw_connect(k, 0), st = 0;
	ssize_t r;
	char *req = malloc(strlen(head) + filler + 8);
	strcpy(req, head);
	memset(req + strlen(head), 'a', filler);
	memcpy(req + strlen(head) + filler, "\r\n\r\n", 5);
	if (write(fd, req, strlen(head) + filler + 4) < 0) {
		/* the bridge may close before it read everything: the answer is what matters */
	}
	if ((r = read(fd, buf, sizeof(buf) - 1)) > 0 && sscanf(buf, "HTTP/1.%*d %d", &st) != 1)
		st = 0;
	close(fd);
	free(req);
	return st;
}

/* ------------------------------------------------------------ tests */

START_TEST(bridge_sale_lands_exactly_once)
{
	stack k;
	char id[REDSTORE_ID_SIZE], path[160], *resp = NULL;
	redstore_receipt *r;
	cJSON *root;
	stack_up(&k, "brsale", 10, "4096");
	RS_OK(redstore_id_new(id));
	ck_assert_int_eq(bridge_sell(&k, id, &resp), 201);
	ck_assert_msg(strstr(resp, id) != NULL, "receipt: %s", resp);
	free(resp);
	/* a retry (the terminal lost the answer): the same receipt, nothing sold twice */
	ck_assert_int_eq(bridge_sell(&k, id, &resp), 200);
	ck_assert_msg(strstr(resp, id) != NULL && strstr(resp, "\"journal\"") == NULL, "receipt: %s", resp);
	free(resp);
	ck_assert_int_eq(rs_test_available(k.c, "A"), 9);
	RS_OK(redstore_receipt_get(&r, k.c, id));
	redstore_receipt_free(r);
	/* reads go through: the stock as the server has it */
	snprintf(path, sizeof(path), "/v1/stores/%s/stock/A", k.store);
	ck_assert_int_eq(bridge_req(&k, "GET", path, NULL, NULL, &resp), 200);
	ck_assert_msg(strstr(resp, "\"available\":9") != NULL, "stock: %s", resp);
	free(resp);
	snprintf(path, sizeof(path), "/v1/stores/%s/sales/%s", k.store, id);
	ck_assert_int_eq(bridge_req(&k, "GET", path, NULL, NULL, &resp), 200);
	free(resp);
	root = journal(&k);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(root, "entries")), 1);
	ck_assert_int_eq((int)num_at(cJSON_GetObjectItemCaseSensitive(root, "counts"), "synced"), 1);
	cJSON_Delete(root);
	/* health is open and tells the uplink */
	ck_assert_int_eq(rs_http(k.bridge.port, NULL, "GET", "/healthz", NULL, NULL, 10000, &resp, NULL), 200);
	root = parse(resp);
	ck_assert_str_eq(str_at(root, "uplink"), "up");
	cJSON_Delete(root);
	free(resp);
	stack_down(&k);
}
END_TEST

/* A request to the bridge with the local token and the session of the employee at the till. */
static long bridge_req_as(stack *k, const char *session, const char *method, const char *path, const char *idem,
                          const char *body, char **out)
{
	char header[1100];
	snprintf(header, sizeof(header), "X-Redstore-Session: %s", session);
	return rs_http_header(k->bridge.port, LOCAL_TOKEN, header, method, path, idem, body, 20000, out, NULL);
}

START_TEST(bridge_passes_other_routes_through_for_the_employee_at_the_till)
{
	stack k;
	char id[REDSTORE_ID_SIZE], path[256], body[256], manager[1024], *resp = NULL;
	cJSON *root;
	stack_up(&k, "brpass", 10, "4096");
	RS_OK(redstore_auth_employee_add(k.c, "man1", "Morgan", REDSTORE_ROLE_MANAGER, "3333"));
	RS_OK(redstore_id_new(id));
	ck_assert_int_eq(bridge_sell(&k, id, &resp), 201);
	free(resp);
	ck_assert_int_eq(rs_test_available(k.c, "A"), 9);
	/* a void with the bridge's (cashier's) session: the server's refusal comes back, nothing changes */
	snprintf(path, sizeof(path), "/v1/stores/%s/sales/%s/void", k.store, id);
	ck_assert_int_eq(bridge_req(&k, "POST", path, NULL, "{\"reason\":\"mistake\"}", &resp), 403);
	ck_assert_msg(strstr(resp, "\"forbidden\"") != NULL, "%s", resp);
	free(resp);
	ck_assert_int_eq(rs_test_available(k.c, "A"), 9);
	/* the manager logs in through the bridge on the same till ... */
	snprintf(body, sizeof(body), "{\"device_token\":\"%s\",\"employee_id\":\"man1\",\"pin\":\"3333\"}", k.device);
	ck_assert_int_eq(bridge_req(&k, "POST", "/v1/sessions", NULL, body, &resp), 201);
	root = parse(resp);
	snprintf(manager, sizeof(manager), "%s", str_at(root, "session_token"));
	cJSON_Delete(root);
	free(resp);
	/* ... and voids it with that session: done once, the stock is back */
	ck_assert_int_eq(bridge_req_as(&k, manager, "POST", path, NULL, "{\"reason\":\"mistake\"}", &resp), 201);
	free(resp);
	ck_assert_int_eq(rs_test_available(k.c, "A"), 10);
	ck_assert_int_eq(bridge_req_as(&k, manager, "POST", path, NULL, "{\"reason\":\"mistake\"}", &resp), 409);
	free(resp);
	/* a stock operation with its Idempotency-Key: once */
	RS_OK(redstore_id_new(id));
	snprintf(path, sizeof(path), "/v1/stores/%s/stock/receipts", k.store);
	ck_assert_int_eq(bridge_req_as(&k, manager, "POST", path, id, "{\"lines\":[{\"sku\":\"A\",\"qty\":5}]}", &resp),
	                 201);
	free(resp);
	ck_assert_int_eq(bridge_req_as(&k, manager, "POST", path, id, "{\"lines\":[{\"sku\":\"A\",\"qty\":5}]}", &resp),
	                 200);
	free(resp);
	ck_assert_int_eq(rs_test_available(k.c, "A"), 15);
	/* the query goes along (encoded again): the server names the bad parameter; the local token does not */
	snprintf(path, sizeof(path), "/v1/stores/%s/reports/top-products?from=0&to=x%%20y&access_token=%s", k.store,
	         LOCAL_TOKEN);
	ck_assert_int_eq(bridge_req_as(&k, manager, "GET", path, NULL, NULL, &resp), 400);
	ck_assert_msg(strstr(resp, "\\\"to\\\" must be an integer") != NULL, "%s", resp);
	free(resp);
	snprintf(path, sizeof(path), "/v1/stores/%s/reports/top-products?from=%lld&to=%lld&n=3", k.store,
	         (long long)time(NULL) * 1000 - 86400000, (long long)time(NULL) * 1000);
	ck_assert_int_eq(bridge_req_as(&k, manager, "GET", path, NULL, NULL, &resp), 200);
	ck_assert_msg(strstr(resp, "\"rows\"") != NULL, "%s", resp);
	free(resp);
	/* a forged session is the server's 401, not the bridge's uplink trouble */
	ck_assert_int_eq(bridge_req_as(&k, "forged", "GET", path, NULL, NULL, &resp), 401);
	free(resp);
	/* only this bridge's store, only with the local token */
	ck_assert_int_eq(bridge_req_as(&k, manager, "GET", "/v1/stores/elsewhere/reports/reorder", NULL, NULL, &resp),
	                 403);
	free(resp);
	snprintf(path, sizeof(path), "/v1/stores/%s/reports/reorder", k.store);
	ck_assert_int_eq(rs_http(k.bridge.port, "wrong", "GET", path, NULL, NULL, 10000, &resp, NULL), 401);
	free(resp);
	/* the server away: 503, nothing journaled (only sales are) */
	rs_test_server_stop(&k.server);
	snprintf(path, sizeof(path), "/v1/stores/%s/stock/adjustments", k.store);
	ck_assert_int_eq(
		bridge_req_as(&k, manager, "POST", path, NULL, "{\"sku\":\"A\",\"delta\":-1,\"reason\":\"damage\"}", &resp), 503);
	ck_assert_msg(strstr(resp, "\"uplink_down\"") != NULL, "%s", resp);
	free(resp);
	ck_assert_int_eq(rs_test_available(k.c, "A"), 15);
	ck_assert_int_eq(journal_count(&k, "pending"), 0);
	server_restart(&k);
	stack_down(&k);
}
END_TEST

START_TEST(bridge_rejects_bad_requests_without_journaling_them)
{
	stack k;
	char id[REDSTORE_ID_SIZE], path[160], *big, *resp = NULL;
	stack_up(&k, "brbad", 10, "4096");
	RS_OK(redstore_id_new(id));
	snprintf(path, sizeof(path), "/v1/stores/%s/sales", k.store);
	/* no local token, a wrong one: 401; another store: 403 */
	ck_assert_int_eq(rs_http(k.bridge.port, NULL, "POST", path, id, SALE_BODY, 10000, NULL, NULL), 401);
	ck_assert_int_eq(rs_http(k.bridge.port, k.token, "POST", path, id, SALE_BODY, 10000, NULL, NULL), 401);
	ck_assert_int_eq(bridge_req(&k, "POST", "/v1/stores/elsewhere/sales", id, SALE_BODY, &resp), 403);
	ck_assert_msg(strstr(resp, "\"forbidden\"") != NULL, "%s", resp);
	free(resp);
	/* no or a bad Idempotency-Key, bad JSON, not an object, too large */
	ck_assert_int_eq(bridge_req(&k, "POST", path, NULL, SALE_BODY, &resp), 400);
	ck_assert_msg(strstr(resp, "idempotency_key_required") != NULL, "%s", resp);
	free(resp);
	ck_assert_int_eq(bridge_req(&k, "POST", path, "not-a-uuid", SALE_BODY, NULL), 400);
	ck_assert_int_eq(bridge_req(&k, "POST", path, id, "{\"lines\":", &resp), 400);
	ck_assert_msg(strstr(resp, "malformed_json") != NULL, "%s", resp);
	free(resp);
	ck_assert_int_eq(bridge_req(&k, "POST", path, id, "[1,2]", NULL), 400);
	big = malloc(200 * 1024);
	memset(big, ' ', 200 * 1024 - 1);
	big[0] = '{';
	big[200 * 1024 - 2] = '}';
	big[200 * 1024 - 1] = '\0';
	ck_assert_int_eq(bridge_req(&k, "POST", path, id, big, &resp), 413);
	ck_assert_msg(strstr(resp, "body_too_large") != NULL, "%s", resp);
	free(resp);
	free(big);
	ck_assert_int_eq(bridge_req(&k, "GET", "/v1/nothing", NULL, NULL, &resp), 404);
	ck_assert_msg(strstr(resp, "no_route") != NULL, "%s", resp);
	free(resp);
	ck_assert_int_eq(bridge_req(&k, "DELETE", path, NULL, NULL, NULL), 405);
	ck_assert_int_eq(bridge_req(&k, "GET", "/v1/bridge/journal?state=lost", NULL, NULL, NULL), 400);
	snprintf(path, sizeof(path), "/v1/stores/%s/events", k.store);
	ck_assert_int_eq(rs_http(k.bridge.port, LOCAL_TOKEN, "GET", "/v1/bridge/journal?limit=0", NULL, NULL, 10000, NULL,
	                         NULL),
	                 400);
	/* headers are bounded too: 32 KiB per connection */
	ck_assert_int_eq(raw_status(&k, "GET /healthz HTTP/1.0\r\nX-Filler: ", 100), 200);
	ck_assert_int_eq(raw_status(&k, "GET /healthz HTTP/1.0\r\nX-Filler: ", 40000), 431);
	/* none of it reached the journal or the stock */
	ck_assert_int_eq(journal_count(&k, "pending") + journal_count(&k, "synced") + journal_count(&k, "rejected"), 0);
	ck_assert_int_eq(rs_test_available(k.c, "A"), 10);
	stack_down(&k);
}
END_TEST

START_TEST(bridge_journals_sales_while_the_server_is_down_and_replays_them_in_order)
{
	stack k;
	redstore_snapshot *snap;
	char ids[20][REDSTORE_ID_SIZE], ops[64][65], *resp = NULL;
	cJSON *root, *entries;
	int n;
	stack_up(&k, "broff", 100, "4096");
	RS_OK(redstore_sync_snapshot(&snap, k.c));
	rs_test_server_stop(&k.server);
	/* 20 sales while the uplink is down: each accepted (202) and pending in the journal */
	for (int i = 0; i < 20; i++) {
		RS_OK(redstore_id_new(ids[i]));
		ck_assert_int_eq(bridge_sell(&k, ids[i], &resp), 202);
		root = parse(resp);
		ck_assert_str_eq(str_at(cJSON_GetObjectItemCaseSensitive(root, "journal"), "state"), "pending");
		ck_assert_str_eq(str_at(cJSON_GetObjectItemCaseSensitive(root, "journal"), "sale_id"), ids[i]);
		cJSON_Delete(root);
		free(resp);
	}
	ck_assert_int_eq(journal_count(&k, "pending"), 20);
	ck_assert_int_eq(rs_test_available(k.c, "A"), 100);
	ck_assert_int_eq(rs_http(k.bridge.port, NULL, "GET", "/healthz", NULL, NULL, 10000, &resp, NULL), 200);
	ck_assert_msg(strstr(resp, "\"uplink\":\"down\"") != NULL, "%s", resp);
	free(resp);
	/* the server is back: the bridge replays on its own */
	server_restart(&k);
	wait_settled(&k, 20);
	root = journal(&k);
	entries = cJSON_GetObjectItemCaseSensitive(root, "entries");
	ck_assert_int_eq(cJSON_GetArraySize(entries), 20);
	for (int i = 0; i < 20; i++) {
		const cJSON *e = cJSON_GetArrayItem(entries, i);
		ck_assert_str_eq(str_at(e, "sale_id"), ids[i]);
		ck_assert_str_eq(str_at(e, "state"), "synced");
	}
	cJSON_Delete(root);
	/* each recorded exactly once, in the order they were made */
	ck_assert_int_eq(rs_test_available(k.c, "A"), 80);
	n = (int)sales_in_stream(k.c, snap->stream_id, ops, 64);
	ck_assert_int_eq(n, 20);
	for (int i = 0; i < 20; i++) {
		redstore_receipt *r;
		ck_assert_str_eq(ops[i], ids[i]);
		RS_OK(redstore_receipt_get(&r, k.c, ids[i]));
		redstore_receipt_free(r);
	}
	/* selling one of them again changes nothing */
	ck_assert_int_eq(bridge_sell(&k, ids[3], &resp), 200);
	free(resp);
	ck_assert_int_eq(rs_test_available(k.c, "A"), 80);
	redstore_snapshot_free(snap);
	stack_down(&k);
}
END_TEST

START_TEST(bridge_notices_the_server_is_back_before_the_next_sale)
{
	stack k;
	char id[REDSTORE_ID_SIZE], path[160], *resp = NULL;
	stack_up(&k, "brback", 10, "4096");
	rs_test_server_stop(&k.server);
	snprintf(path, sizeof(path), "/v1/stores/%s/stock/A", k.store);
	ck_assert_int_eq(bridge_req(&k, "GET", path, NULL, NULL, &resp), 503);
	ck_assert_msg(strstr(resp, "uplink_down") != NULL, "%s", resp);
	free(resp);
	wait_health(&k, "\"uplink\":\"down\"");
	/* back, with nothing pending: the bridge finds out by itself, and the next sale is committed at once */
	server_restart(&k);
	wait_health(&k, "\"uplink\":\"up\"");
	RS_OK(redstore_id_new(id));
	ck_assert_int_eq(bridge_sell(&k, id, NULL), 201);
	ck_assert_int_eq(rs_test_available(k.c, "A"), 9);
	stack_down(&k);
}
END_TEST

START_TEST(bridge_a_sale_refused_after_the_offline_period_shows_as_rejected_with_the_reason)
{
	stack k;
	char a[REDSTORE_ID_SIZE], b[REDSTORE_ID_SIZE], path[160], *resp = NULL;
	cJSON *root, *entries;
	stack_up(&k, "brrej", 1, "4096");
	rs_test_server_stop(&k.server);
	/* offline, two terminals sell the last unit */
	RS_OK(redstore_id_new(a));
	RS_OK(redstore_id_new(b));
	ck_assert_int_eq(bridge_sell(&k, a, NULL), 202);
	ck_assert_int_eq(bridge_sell(&k, b, NULL), 202);
	server_restart(&k);
	wait_settled(&k, 2);
	root = journal(&k);
	entries = cJSON_GetObjectItemCaseSensitive(root, "entries");
	ck_assert_int_eq(cJSON_GetArraySize(entries), 2);
	ck_assert_str_eq(str_at(cJSON_GetArrayItem(entries, 0), "sale_id"), a);
	ck_assert_str_eq(str_at(cJSON_GetArrayItem(entries, 0), "state"), "synced");
	ck_assert_str_eq(str_at(cJSON_GetArrayItem(entries, 1), "sale_id"), b);
	ck_assert_str_eq(str_at(cJSON_GetArrayItem(entries, 1), "state"), "rejected");
	ck_assert_int_eq((int)num_at(cJSON_GetArrayItem(entries, 1), "http_status"), 409);
	ck_assert_msg(strstr(str_at(cJSON_GetArrayItem(entries, 1), "reason"), "out_of_stock") != NULL, "reason: %s",
	              str_at(cJSON_GetArrayItem(entries, 1), "reason"));
	cJSON_Delete(root);
	/* only rejected ones, on request */
	ck_assert_int_eq(bridge_req(&k, "GET", "/v1/bridge/journal?state=rejected", NULL, NULL, &resp), 200);
	root = parse(resp);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(root, "entries")), 1);
	cJSON_Delete(root);
	free(resp);
	/* the terminal asking about it, or selling it again, gets the refusal, never a silent success */
	snprintf(path, sizeof(path), "/v1/stores/%s/sales/%s", k.store, b);
	ck_assert_int_eq(bridge_req(&k, "GET", path, NULL, NULL, &resp), 409);
	ck_assert_msg(strstr(resp, "\"code\":\"out_of_stock\"") != NULL, "%s", resp);
	free(resp);
	ck_assert_int_eq(bridge_sell(&k, b, &resp), 409);
	ck_assert_msg(strstr(resp, "\"rejected\"") != NULL, "%s", resp);
	free(resp);
	ck_assert_int_eq(rs_test_available(k.c, "A"), 0);
	stack_down(&k);
}
END_TEST

/* ------------------------------------------------------------ local SSE clients */

typedef struct sse_client {
	int port;
	char path[160];
	char last[REDSTORE_STREAM_ID_SIZE]; /* Last-Event-ID to send ("": none) */
	int want;                           /* stop after this many change events */
	pthread_t thread;
	pthread_mutex_t mu;
	char (*ids)[REDSTORE_STREAM_ID_SIZE];
	char (*ops)[65]; /* the operation (sale id) of each change */
	int n, resyncs, done;
	rs_sse_parser p;
} sse_client;

static void sse_event(void *ctx, const char *event, const char *id, const char *data)
{
	sse_client *c = ctx;
	pthread_mutex_lock(&c->mu);
	if (!strcmp(event, "change") && c->n < c->want) {
		cJSON *d = cJSON_Parse(data);
		const cJSON *op = cJSON_GetObjectItemCaseSensitive(d, "op");
		snprintf(c->ops[c->n], sizeof(c->ops[c->n]), "%s", cJSON_IsString(op) ? op->valuestring : "");
		snprintf(c->ids[c->n++], REDSTORE_STREAM_ID_SIZE, "%s", id);
		cJSON_Delete(d);
	} else if (!strcmp(event, "resync")) {
		c->resyncs++;
	}
	c->done = c->n >= c->want || c->resyncs;
	pthread_mutex_unlock(&c->mu);
}

static size_t sse_write(char *data, size_t size, size_t nmemb, void *userdata)
{
	sse_client *c = userdata;
	size_t k = size * nmemb;
	c->p.on_event = sse_event;
	c->p.ctx = c;
	rs_sse_feed(&c->p, data, k);
	return c->done ? 0 : k; /* 0 ends the transfer (only this thread writes done) */
}

static void *sse_main(void *arg)
{
	sse_client *c = arg;
	CURL *h = curl_easy_init();
	struct curl_slist *hdr = NULL;
	char url[256], line[96];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", c->port, c->path);
	hdr = curl_slist_append(hdr, "Authorization: Bearer " LOCAL_TOKEN);
	if (c->last[0]) {
		snprintf(line, sizeof(line), "Last-Event-ID: %s", c->last);
		hdr = curl_slist_append(hdr, line);
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sse_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 60000L);
	curl_easy_perform(h);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	return NULL;
}

static void sse_start(sse_client *c, stack *k, const char *last, int want)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->mu, NULL);
	c->port = k->bridge.port;
	snprintf(c->path, sizeof(c->path), "/v1/stores/%s/events", k->store);
	snprintf(c->last, sizeof(c->last), "%s", last ? last : "");
	c->want = want;
	c->ids = calloc((size_t)want, sizeof(*c->ids));
	c->ops = calloc((size_t)want, sizeof(*c->ops));
	ck_assert_int_eq(pthread_create(&c->thread, NULL, sse_main, c), 0);
}

/* Waits for the client's transfer to end (it ends itself after `want` events or a resync). */
static void sse_join(sse_client *c)
{
	pthread_join(c->thread, NULL);
	pthread_mutex_destroy(&c->mu);
}

static void sse_free(sse_client *c)
{
	free(c->ids);
	free(c->ops);
}

/* The server's open SSE streams, from its /metrics. */
static long server_streams(stack *k)
{
	char *resp = NULL, *p;
	long n = -1;
	ck_assert_int_eq(rs_http(k->server.port, NULL, "GET", "/metrics", NULL, NULL, 10000, &resp, NULL), 200);
	if ((p = strstr(resp, "\nredstore_sse_connections ")))
		n = strtol(p + 26, NULL, 10);
	free(resp);
	return n;
}

START_TEST(bridge_two_local_clients_receive_every_event_in_order_from_one_upstream_stream)
{
	enum { N = 40 };
	stack k;
	redstore_snapshot *snap;
	redstore_changes *chs;
	sse_client a, b;
	char sales[N][REDSTORE_ID_SIZE];
	stack_up(&k, "brsse", 1000, "4096");
	wait_upstream(&k);
	RS_OK(redstore_sync_snapshot(&snap, k.c));
	sse_start(&a, &k, snap->stream_id, N);
	sse_start(&b, &k, snap->stream_id, N);
	/* the sales go through the bridge too: the terminals' own changes come back to them */
	for (int i = 0; i < N; i++) {
		RS_OK(redstore_id_new(sales[i]));
		ck_assert_int_eq(bridge_sell(&k, sales[i], NULL), 201);
	}
	sse_join(&a);
	sse_join(&b);
	/* every change of the store's stream, in its order, at both clients: no gap, no duplicate */
	RS_OK(redstore_sync_read(&chs, k.c, snap->stream_id, 1000, 0));
	ck_assert_uint_eq(chs->count, N);
	ck_assert_int_eq(a.resyncs + b.resyncs, 0);
	ck_assert_int_eq(a.n, N);
	ck_assert_int_eq(b.n, N);
	for (int i = 0; i < N; i++) {
		ck_assert_str_eq(a.ids[i], chs->items[i].id);
		ck_assert_str_eq(b.ids[i], chs->items[i].id);
		ck_assert_str_eq(a.ops[i], sales[i]);
		ck_assert_str_eq(b.ops[i], sales[i]);
	}
	redstore_changes_free(chs);
	/* the bridge holds ONE stream of the server, whatever the number of local clients */
	ck_assert_int_eq(server_streams(&k), 1);
	sse_free(&a);
	sse_free(&b);
	redstore_snapshot_free(snap);
	stack_down(&k);
}
END_TEST

START_TEST(bridge_local_reconnect_with_last_event_id_misses_nothing)
{
	stack k;
	redstore_snapshot *snap;
	sse_client a;
	char ids[25][REDSTORE_STREAM_ID_SIZE];
	/* a ring of 16 events: what a reconnect may ask for, and what is too old */
	stack_up(&k, "brre", 1000, "16");
	wait_upstream(&k);
	RS_OK(redstore_sync_snapshot(&snap, k.c));
	sse_start(&a, &k, snap->stream_id, 10);
	for (int i = 0; i < 10; i++)
		rs_test_sell(k.c, "A", 1, ids[i]);
	sse_join(&a);
	ck_assert_int_eq(a.n, 10);
	for (int i = 0; i < 10; i++)
		ck_assert_str_eq(a.ids[i], ids[i]);
	sse_free(&a);
	/* disconnected: 10 more changes; the reconnect gets exactly those, then live ones */
	for (int i = 10; i < 20; i++)
		rs_test_sell(k.c, "A", 1, ids[i]);
	sse_start(&a, &k, ids[9], 15);
	for (int i = 20; i < 25; i++)
		rs_test_sell(k.c, "A", 1, ids[i]);
	sse_join(&a);
	ck_assert_int_eq(a.resyncs, 0);
	ck_assert_int_eq(a.n, 15);
	for (int i = 0; i < 15; i++)
		ck_assert_str_eq(a.ids[i], ids[10 + i]);
	sse_free(&a);
	/* the first id is older than the ring keeps now: resync, never a silent gap */
	sse_start(&a, &k, ids[0], 25);
	sse_join(&a);
	ck_assert_int_eq(a.resyncs, 1);
	ck_assert_int_eq(a.n, 0);
	sse_free(&a);
	redstore_snapshot_free(snap);
	stack_down(&k);
}
END_TEST


START_TEST(bridge_local_clients_miss_nothing_across_a_server_restart)
{
	stack k;
	redstore_snapshot *snap;
	sse_client a;
	char ids[15][REDSTORE_STREAM_ID_SIZE];
	stack_up(&k, "brrestart", 1000, "4096");
	wait_upstream(&k);
	RS_OK(redstore_sync_snapshot(&snap, k.c));
	sse_start(&a, &k, snap->stream_id, 15);
	for (int i = 0; i < 5; i++)
		rs_test_sell(k.c, "A", 1, ids[i]);
	/* the server goes away and comes back; the store keeps selling (the library writes Redis itself) and
	 * the local client stays connected to the bridge throughout */
	rs_test_server_stop(&k.server);
	for (int i = 5; i < 10; i++)
		rs_test_sell(k.c, "A", 1, ids[i]);
	server_restart(&k);
	for (int i = 10; i < 15; i++)
		rs_test_sell(k.c, "A", 1, ids[i]);
	sse_join(&a);
	ck_assert_int_eq(a.resyncs, 0);
	ck_assert_int_eq(a.n, 15);
	for (int i = 0; i < 15; i++)
		ck_assert_str_eq(a.ids[i], ids[i]);
	sse_free(&a);
	redstore_snapshot_free(snap);
	stack_down(&k);
}
END_TEST

START_TEST(bridge_pending_sales_survive_a_crash_of_the_bridge)
{
	stack k;
	char ids[5][REDSTORE_ID_SIZE];
	int status;
	stack_up(&k, "brcrash", 10, "4096");
	rs_test_server_stop(&k.server);
	for (int i = 0; i < 5; i++) {
		RS_OK(redstore_id_new(ids[i]));
		ck_assert_int_eq(bridge_sell(&k, ids[i], NULL), 202);
	}
	/* the bridge dies without a chance to clean up; a 202 was a promise the journal keeps */
	kill(k.bridge.pid, SIGKILL);
	waitpid(k.bridge.pid, &status, 0);
	{
		char p[128];
		snprintf(p, sizeof(p), "%s/port", k.bridge.dir);
		unlink(p);
		rmdir(k.bridge.dir);
	}
	server_restart(&k);
	bridge_start(&k, "4096", NULL);
	wait_settled(&k, 5);
	ck_assert_int_eq(journal_count(&k, "synced"), 5);
	ck_assert_int_eq(rs_test_available(k.c, "A"), 5);
	for (int i = 0; i < 5; i++) {
		redstore_receipt *r;
		RS_OK(redstore_receipt_get(&r, k.c, ids[i]));
		redstore_receipt_free(r);
	}
	stack_down(&k);
}
END_TEST

START_TEST(bridge_takes_a_new_upstream_token_without_restarting)
{
	stack k;
	char body[1200], path[160], id[REDSTORE_ID_SIZE], *resp = NULL;
	stack_up(&k, "brtok", 10, "4096");
	wait_upstream(&k);
	snprintf(path, sizeof(path), "/v1/stores/%s/stock/A", k.store);
	/* a token the server refuses: reads say so as the bridge's problem (502), not the terminal's (401) */
	ck_assert_int_eq(bridge_req(&k, "PUT", "/v1/bridge/token", NULL, "{\"token\":\"expired.or.forged\"}", NULL), 200);
	ck_assert_int_eq(bridge_req(&k, "GET", path, NULL, NULL, &resp), 502);
	ck_assert_msg(strstr(resp, "uplink_unauthorized") != NULL, "%s", resp);
	free(resp);
	/* sales are still taken: journaled until the bridge has a token the server accepts */
	RS_OK(redstore_id_new(id));
	ck_assert_int_eq(bridge_sell(&k, id, NULL), 202);
	wait_health(&k, "\"uplink\":\"unauthorized\"");
	/* bad bodies change nothing */
	ck_assert_int_eq(bridge_req(&k, "PUT", "/v1/bridge/token", NULL, "{\"token\":\"has space\"}", NULL), 422);
	ck_assert_int_eq(bridge_req(&k, "PUT", "/v1/bridge/token", NULL, "{\"token\":1}", NULL), 400);
	ck_assert_int_eq(bridge_req(&k, "PUT", "/v1/bridge/token", NULL, "{\"token\":\"a\",\"x\":1}", NULL), 400);
	/* the good one back: reads work again */
	snprintf(body, sizeof(body), "{\"token\":\"%s\"}", k.token);
	ck_assert_int_eq(bridge_req(&k, "PUT", "/v1/bridge/token", NULL, body, NULL), 200);
	wait_settled(&k, 1);
	ck_assert_int_eq(journal_count(&k, "synced"), 1);
	ck_assert_int_eq(bridge_req(&k, "GET", path, NULL, NULL, &resp), 200);
	ck_assert_msg(strstr(resp, "\"available\":9") != NULL, "%s", resp);
	free(resp);
	stack_down(&k);
}
END_TEST

/* A raw HTTP/1.0 client of the bridge's events (no chunking): the fd, the request sent. */
static int raw_events(stack *k, const char *last, int rcvbuf)
{
	char req[512];
	int fd = raw_connect(k, rcvbuf), n;
	n = snprintf(req, sizeof(req),
	             "GET /v1/stores/%s/events HTTP/1.0\r\nAuthorization: Bearer " LOCAL_TOKEN "\r\n%s%s%s\r\n",
	             k->store, last ? "Last-Event-ID: " : "", last ? last : "", last ? "\r\n" : "");
	ck_assert_int_eq(write(fd, req, (size_t)n), n);
	return fd;
}

/* Reads from fd into *text (grown) until it holds `count` occurrences of needle, the peer closes, or
 * timeout_ms passes. Returns the occurrences found. */
static int raw_read(int fd, char **text, size_t *len, const char *needle, int count, int timeout_ms)
{
	int64_t deadline = rs_test_now_ms() + timeout_ms;
	for (;;) {
		char buf[4096];
		struct pollfd p = { fd, POLLIN, 0 };
		int found = 0;
		ssize_t r;
		for (const char *q = *text ? strstr(*text, needle) : NULL; q; q = strstr(q + 1, needle))
			found++;
		if (found >= count || rs_test_now_ms() >= deadline)
			return found;
		if (poll(&p, 1, (int)(deadline - rs_test_now_ms())) <= 0)
			continue;
		if ((r = read(fd, buf, sizeof(buf))) <= 0)
			return found;
		*text = realloc(*text, *len + (size_t)r + 1);
		memcpy(*text + *len, buf, (size_t)r);
		*len += (size_t)r;
		(*text)[*len] = '\0';
	}
}

START_TEST(bridge_idle_streams_get_heartbeats_and_a_slow_one_is_cut_off_with_resync)
{
	enum { N = 400 };
	static const char *const extra[] = { "--client-buffer-kib", "4", "--sndbuf", "4096", NULL };
	stack k;
	redstore_snapshot *snap;
	char ids[N][REDSTORE_STREAM_ID_SIZE], *text = NULL, *p;
	size_t len = 0;
	int fd, n = 0;
	stack_up_with(&k, "brslow", 100000, "4096", extra);
	wait_upstream(&k);
	/* idle: heartbeats (every 300 ms here) keep the stream alive */
	fd = raw_events(&k, NULL, 0);
	ck_assert_int_ge(raw_read(fd, &text, &len, ": heartbeat", 2, 10000), 2);
	close(fd);
	free(text);
	text = NULL;
	len = 0;
	/* a terminal that stops reading while N changes go by: it is cut off, not buffered for */
	RS_OK(redstore_sync_snapshot(&snap, k.c));
	fd = raw_events(&k, snap->stream_id, 2048);
	for (int i = 0; i < N; i++)
		rs_test_sell(k.c, "A", 1, ids[i]);
	ck_assert_int_eq(raw_read(fd, &text, &len, "event: resync", 1, 20000), 1);
	ck_assert_msg(strstr(text, "slow_client") != NULL, "%s", text);
	/* what it did get came in order and without a gap, before the resync */
	for (p = strstr(text, "id: "); p && p < strstr(text, "event: resync"); p = strstr(p + 1, "id: ")) {
		ck_assert_int_lt(n, N);
		ck_assert_msg(!strncmp(p + 4, ids[n], strlen(ids[n])) && p[4 + strlen(ids[n])] == '\n',
		              "event %d is not %s", n, ids[n]);
		n++;
	}
	ck_assert_int_lt(n, N);
	close(fd);
	free(text);
	redstore_snapshot_free(snap);
	stack_down(&k);
}
END_TEST

START_TEST(bridge_sales_never_wait_for_a_hung_server)
{
	stack k;
	char upstream[64], ids[20][REDSTORE_ID_SIZE];
	const char *extra[] = { "--upstream", upstream, "--upstream-timeout-ms", "3000", NULL };
	int64_t worst = 0;
	int bh_port, bh = rs_test_blackhole(&bh_port);
	/* the bridge's server accepts connections and never answers */
	snprintf(upstream, sizeof(upstream), "http://127.0.0.1:%d", bh_port);
	stack_up_with(&k, "brhung", 100, "4096", extra);
	wait_health(&k, "\"uplink\":\"down\"");
	for (int i = 0; i < 20; i++) {
		int64_t t0 = rs_test_now_ms(), dt;
		RS_OK(redstore_id_new(ids[i]));
		ck_assert_int_eq(bridge_sell(&k, ids[i], NULL), 202);
		dt = rs_test_now_ms() - t0;
		worst = dt > worst ? dt : worst;
	}
	/* the upstream timeout is 3000 ms: no sale waited for it */
	ck_assert_msg(worst < 1500, "a sale waited %lld ms", (long long)worst);
	ck_assert_int_eq(journal_count(&k, "pending"), 20);
	/* the same journal behind a bridge that reaches the server: all of them, in order */
	rs_test_server_stop(&k.bridge);
	bridge_start(&k, "4096", NULL);
	wait_settled(&k, 20);
	{
		cJSON *root = journal(&k), *entries = cJSON_GetObjectItemCaseSensitive(root, "entries");
		for (int i = 0; i < 20; i++)
			ck_assert_str_eq(str_at(cJSON_GetArrayItem(entries, i), "sale_id"), ids[i]);
		cJSON_Delete(root);
	}
	ck_assert_int_eq(journal_count(&k, "synced"), 20);
	ck_assert_int_eq(rs_test_available(k.c, "A"), 80);
	close(bh);
	stack_down(&k);
}
END_TEST

static Suite *bridge_suite(void)
{
	Suite *s = suite_create("bridge");
	TCase *t = tcase_create("bridge");
	tcase_set_timeout(t, 300);
	tcase_add_test(t, bridge_sale_lands_exactly_once);
	tcase_add_test(t, bridge_passes_other_routes_through_for_the_employee_at_the_till);
	tcase_add_test(t, bridge_rejects_bad_requests_without_journaling_them);
	tcase_add_test(t, bridge_journals_sales_while_the_server_is_down_and_replays_them_in_order);
	tcase_add_test(t, bridge_a_sale_refused_after_the_offline_period_shows_as_rejected_with_the_reason);
	tcase_add_test(t, bridge_notices_the_server_is_back_before_the_next_sale);
	tcase_add_test(t, bridge_two_local_clients_receive_every_event_in_order_from_one_upstream_stream);
	tcase_add_test(t, bridge_local_reconnect_with_last_event_id_misses_nothing);
	tcase_add_test(t, bridge_local_clients_miss_nothing_across_a_server_restart);
	tcase_add_test(t, bridge_pending_sales_survive_a_crash_of_the_bridge);
	tcase_add_test(t, bridge_takes_a_new_upstream_token_without_restarting);
	tcase_add_test(t, bridge_idle_streams_get_heartbeats_and_a_slow_one_is_cut_off_with_resync);
	suite_add_tcase(s, t);
	/* a wall-clock bound: not under valgrind */
	t = tcase_create("bridge_timing");
	tcase_set_tags(t, "timing");
	tcase_set_timeout(t, 300);
	tcase_add_test(t, bridge_sales_never_wait_for_a_hung_server);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return rs_test_server_main(bridge_suite(), AUTH_SECRET);
}
