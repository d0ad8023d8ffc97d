/* redstore-server's catalog writes, transfers, reservations, employees, terminals and audit verification,
 * against the real program on a free port and the dev stack: each endpoint's effect is visible through
 * the library; each refuses a role without its permission (403) and a missing or garbage token (401),
 * and a bad body (malformed, unknown member, wrong type, out-of-range number, too long, too large) with
 * 400/413, in every case with nothing changed (stock stream, product, employee, terminal); a retried
 * transfer, receipt, reservation or release with the same Idempotency-Key applies once; a transfer is
 * received only at its destination. */
#include "http.h"
#include "server.h"
#include "testutil.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define AUTH_SECRET "admin-api-test-secret-0123456789-abcdefgh"

typedef rs_test_server server;

/* Session tokens of a store's employees, logged in on one terminal paired through the library. */
typedef struct creds {
	char store[65];
	char device[REDSTORE_DEVICE_TOKEN_SIZE];
	char cashier[1024], supervisor[1024], manager[1024], admin[1024];
} creds;

static void login(redstore_client *c, const char *device, const char *employee, const char *pin, char *token)
{
	char *t;
	RS_OK(redstore_auth_login(&t, c, device, employee, pin));
	snprintf(token, 1024, "%s", t);
	redstore_free(t);
}

/* A fresh store selected on c (product "T", 20 units unless stock is 0), four employees, one terminal. */
static void store_setup(redstore_client *c, const char *prefix, int64_t stock, creds *k)
{
	char code[REDSTORE_PAIRING_CODE_SIZE], terminal[REDSTORE_ID_SIZE];
	rs_test_store(c, prefix, k->store, 0);
	rs_test_product(c, "T", 500, "standard", REDSTORE_STOCK_DENY, stock);
	RS_OK(redstore_auth_employee_add(c, "cash1", "Casey", REDSTORE_ROLE_CASHIER, "1111"));
	RS_OK(redstore_auth_employee_add(c, "sup1", "Sam", REDSTORE_ROLE_SUPERVISOR, "2222"));
	RS_OK(redstore_auth_employee_add(c, "man1", "Morgan", REDSTORE_ROLE_MANAGER, "3333"));
	RS_OK(redstore_auth_employee_add(c, "adm1", "Alex", REDSTORE_ROLE_ADMIN, "4444"));
	RS_OK(redstore_auth_pairing_code_new(code, c, "till 1"));
	RS_OK(redstore_auth_pair(k->device, terminal, c, code));
	login(c, k->device, "cash1", "1111", k->cashier);
	login(c, k->device, "sup1", "2222", k->supervisor);
	login(c, k->device, "man1", "3333", k->manager);
	login(c, k->device, "adm1", "4444", k->admin);
}

/* One request; returns the status, *out the parsed body (NULL when not JSON) unless out is NULL. */
static long req(const server *s, const char *token, const char *method, const char *path, const char *idem,
                const char *body, cJSON **out)
{
	char *resp = NULL;
	CURLcode rc;
	long st = rs_http(s->port, token, method, path, idem, body, 30000, &resp, &rc);
	ck_assert_msg(rc == CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror(rc));
	if (out)
		*out = resp ? cJSON_Parse(resp) : NULL;
	free(resp);
	return st;
}

/* The request gets `status` with the error `code`. */
static void expect_error(const server *s, const char *token, const char *method, const char *path, const char *idem,
                         const char *body, long status, const char *code)
{
	cJSON *r;
	long st = req(s, token, method, path, idem, body, &r);
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "error"), "code");
	ck_assert_msg(st == status && cJSON_IsString(c) && !strcmp(c->valuestring, code),
	              "%s %s %.80s: %ld %s (expected %ld %s)", method, path, body ? body : "", st,
	              cJSON_IsString(c) ? c->valuestring : "?", status, code);
	cJSON_Delete(r);
}

/* 401 without a token and with a garbage one; 403 for each of the `n` tokens of roles without the
 * permission. */
static void expect_refused(const server *s, const char *method, const char *path, const char *idem, const char *body,
                           const char *const *denied, int n)
{
	expect_error(s, NULL, method, path, idem, body, 401, "unauthenticated");
	expect_error(s, "garbage.token", method, path, idem, body, 401, "unauthenticated");
	expect_error(s, "v1|x|y|z|admin|99999999999999|n.AAAA", method, path, idem, body, 401, "unauthenticated");
	for (int i = 0; i < n; i++)
		expect_error(s, denied[i], method, path, idem, body, 403, "forbidden");
}

/* The id of the store's last stock change: equal before and after means nothing was written. */
static void stream_now(redstore_client *c, char *id)
{
	redstore_snapshot *snap;
	RS_OK(redstore_sync_snapshot(&snap, c));
	snprintf(id, REDSTORE_STREAM_ID_SIZE, "%s", snap->stream_id);
	redstore_snapshot_free(snap);
}

static void level(redstore_client *c, const char *sku, int64_t on_hand, int64_t reserved)
{
	redstore_stock_level l;
	RS_OK(redstore_stock_get(&l, c, 1, &sku));
	ck_assert_msg(l.on_hand == on_hand && l.reserved == reserved, "%s: on hand %lld reserved %lld (expected %lld %lld)",
	              sku, (long long)l.on_hand, (long long)l.reserved, (long long)on_hand, (long long)reserved);
}

static void new_id(char *id)
{
	RS_OK(redstore_id_new(id));
}

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A body of `size` bytes (over the server's 64 KiB limit) that would be valid but for its size. */
static char *oversized(const char *head, const char *tail, size_t size)
{
	char *b = malloc(size + 1);
	size_t h = strlen(head), t = strlen(tail);
	ck_assert_ptr_nonnull(b);
	memcpy(b, head, h);
	memset(b + h, 'x', size - h - t);
	memcpy(b + size - t, tail, t + 1);
	return b;
}

/* The 400s every JSON body route gives, and 413 for a body over the limit. */
static void expect_bad_json(const server *s, const char *token, const char *method, const char *path,
                            const char *idem)
{
	char *big = oversized("{\"name\":\"", "\"}", 70000);
	expect_error(s, token, method, path, idem, big, 413, "body_too_large");
	free(big);
	expect_error(s, token, method, path, idem, "{\"lines\":[", 400, "malformed_json");
	expect_error(s, token, method, path, idem, "[1]", 400, "malformed_json");
	expect_error(s, token, method, path, idem, "{} x", 400, "malformed_json");
	expect_error(s, token, method, path, idem, "{\"evil\":1}", 400, "invalid_body");
}

/* ------------------------------------------------------------ tests */

START_TEST(catalog_writes_apply_for_managers_only_and_bad_bodies_change_nothing)
{
	server s;
	creds k;
	redstore_client *c = rs_test_client();
	redstore_product *p;
	char path[256], item[256], name201[202], sku65[66], body[600];
	static const char good[] = "{\"sku\":\"P1\",\"name\":\"Pen\",\"price\":250,\"tax_class\":\"standard\","
	                           "\"barcode\":\"4006381333931\",\"brand\":\"Acme\",\"custom\":{\"colour\":\"red\"},"
	                           "\"stock_policy\":\"allow\",\"low_stock_threshold\":3,\"favourite\":true}";
	cJSON *r;
	store_setup(c, "admcat", 0, &k);
	rs_test_server_start(&s, NULL);
	snprintf(path, sizeof(path), "/v1/stores/%s/products", k.store);
	snprintf(item, sizeof(item), "/v1/stores/%s/products/P1", k.store);
	memset(name201, 'n', 201);
	name201[201] = '\0';
	memset(sku65, 's', 65);
	sku65[65] = '\0';

	/* refused before anything: no token, a forged one, roles without REDSTORE_PERM_CATALOG */
	{
		const char *const denied[] = { k.cashier, k.supervisor };
		expect_refused(&s, "POST", path, NULL, good, denied, 2);
		ck_assert_int_eq(redstore_product_get(&p, c, "P1"), REDSTORE_ENOTFOUND);
	}
	/* bad bodies: 400/413 and no product */
	expect_bad_json(&s, k.manager, "POST", path, NULL);
	expect_error(&s, k.manager, "POST", path, NULL, "{\"sku\":\"P1\",\"name\":\"Pen\",\"price\":\"250\"}", 400,
	             "invalid_body");
	expect_error(&s, k.manager, "POST", path, NULL, "{\"sku\":\"P1\",\"name\":\"Pen\",\"price\":-1}", 400,
	             "invalid_body");
	expect_error(&s, k.manager, "POST", path, NULL, "{\"sku\":\"P1\",\"name\":\"Pen\",\"price\":1e13}", 400,
	             "invalid_body");
	expect_error(&s, k.manager, "POST", path, NULL, "{\"sku\":\"P1\",\"name\":\"Pen\",\"price\":2.5}", 400,
	             "invalid_body");
	expect_error(&s, k.manager, "POST", path, NULL, "{\"sku\":\"P1\",\"name\":\"Pen\"}", 400, "invalid_body");
	expect_error(&s, k.manager, "POST", path, NULL, "{\"sku\":\"P1\",\"name\":\"Pen\",\"price\":1,\"active\":1}", 400,
	             "invalid_body");
	expect_error(&s, k.manager, "POST", path, NULL, "{\"sku\":\"P1\",\"name\":\"Pen\",\"price\":1,\"custom\":[1]}", 400,
	             "invalid_body");
	expect_error(&s, k.manager, "POST", path, NULL,
	             "{\"sku\":\"P1\",\"name\":\"Pen\",\"price\":1,\"stock_policy\":\"maybe\"}", 400, "invalid_body");
	snprintf(body, sizeof(body), "{\"sku\":\"P1\",\"name\":\"%s\",\"price\":1}", name201);
	expect_error(&s, k.manager, "POST", path, NULL, body, 400, "invalid_body");
	snprintf(body, sizeof(body), "{\"sku\":\"%s\",\"name\":\"Pen\",\"price\":1}", sku65);
	expect_error(&s, k.manager, "POST", path, NULL, body, 400, "invalid_body");
	/* the library's own checks: an unknown tax class */
	expect_error(&s, k.manager, "POST", path, NULL,
	             "{\"sku\":\"P1\",\"name\":\"Pen\",\"price\":1,\"tax_class\":\"nope\"}", 404, "not_found");
	ck_assert_int_eq(redstore_product_get(&p, c, "P1"), REDSTORE_ENOTFOUND);

	/* create: 201 with the stored product, which the library reads back field by field */
	ck_assert_int_eq(req(&s, k.manager, "POST", path, NULL, good, &r), 201);
	ck_assert_str_eq(rs_json_str(r, "sku"), "P1");
	ck_assert_int_eq(rs_json_num(r, "version"), 1);
	cJSON_Delete(r);
	RS_OK(redstore_product_get(&p, c, "P1"));
	ck_assert_str_eq(p->name, "Pen");
	ck_assert_str_eq(p->barcode, "4006381333931");
	ck_assert_str_eq(p->brand, "Acme");
	ck_assert_int_eq(p->price, 250);
	ck_assert_int_eq(p->low_stock_threshold, 3);
	ck_assert_int_eq(p->stock_policy, REDSTORE_STOCK_ALLOW);
	ck_assert_int_eq(p->favourite, 1);
	ck_assert_int_eq(p->active, 1);
	ck_assert_ptr_nonnull(strstr(p->custom_json, "\"colour\""));
	redstore_product_free(p);
	/* the same SKU again: 409 */
	expect_error(&s, k.manager, "POST", path, NULL, good, 409, "conflict");

	/* update: refused and bad requests leave version 1 */
	{
		const char *const denied[] = { k.cashier, k.supervisor };
		expect_refused(&s, "PUT", item, NULL, "{\"name\":\"Pencil\",\"price\":300}", denied, 2);
		expect_refused(&s, "DELETE", item, NULL, NULL, denied, 2);
	}
	expect_bad_json(&s, k.manager, "PUT", item, NULL);
	expect_error(&s, k.manager, "PUT", item, NULL, "{\"sku\":\"P2\",\"name\":\"Pencil\",\"price\":300}", 400,
	             "invalid_body");
	expect_error(&s, k.manager, "PUT", item, NULL, "{\"name\":\"Pencil\",\"price\":300,\"favourite\":\"yes\"}", 400,
	             "invalid_body");
	expect_error(&s, k.manager, "DELETE", item, NULL, "{}", 400, "invalid_body");
	RS_OK(redstore_product_get(&p, c, "P1"));
	ck_assert_int_eq(p->version, 1);
	ck_assert_int_eq(p->active, 1);
	ck_assert_str_eq(p->name, "Pen");
	redstore_product_free(p);

	/* update replaces every field */
	ck_assert_int_eq(req(&s, k.manager, "PUT", item, NULL,
	                     "{\"sku\":\"P1\",\"name\":\"Pencil\",\"price\":300,\"tax_class\":\"reduced\"}", &r),
	                 200);
	ck_assert_int_eq(rs_json_num(r, "price"), 300);
	cJSON_Delete(r);
	RS_OK(redstore_product_get(&p, c, "P1"));
	ck_assert_int_eq(p->version, 2);
	ck_assert_str_eq(p->name, "Pencil");
	ck_assert_str_eq(p->tax_class, "reduced");
	ck_assert_str_eq(p->barcode, "");
	ck_assert_int_eq(p->price, 300);
	ck_assert_int_eq(p->favourite, 0);
	redstore_product_free(p);
	snprintf(body, sizeof(body), "/v1/stores/%s/products/NOPE", k.store);
	expect_error(&s, k.manager, "PUT", body, NULL, "{\"name\":\"x\",\"price\":1}", 404, "not_found");
	expect_error(&s, k.manager, "DELETE", body, NULL, NULL, 404, "not_found");

	/* deactivate: 200 with the product, inactive; selling it is refused by the library */
	ck_assert_int_eq(req(&s, k.manager, "DELETE", item, NULL, NULL, &r), 200);
	ck_assert_int_eq(rs_json_bool(r, "active"), 0);
	cJSON_Delete(r);
	RS_OK(redstore_product_get(&p, c, "P1"));
	ck_assert_int_eq(p->active, 0);
	redstore_product_free(p);

	/* routes: an unknown one is 404, a known path with another method 405 */
	snprintf(body, sizeof(body), "/v1/stores/%s/productz", k.store);
	expect_error(&s, k.manager, "POST", body, NULL, good, 404, "no_route");
	expect_error(&s, k.manager, "PATCH", item, NULL, good, 405, "method_not_allowed");
	rs_test_server_stop(&s);
	redstore_client_free(c);
}
END_TEST

START_TEST(transfers_apply_once_and_only_at_their_destination)
{
	server s;
	creds a, b, x;
	redstore_client *ca = rs_test_client(), *cb = rs_test_client(), *cx = rs_test_client();
	char path[256], rpath[256], body[512], tid[REDSTORE_ID_SIZE], rid[REDSTORE_ID_SIZE], before[2][64];
	char sku65[66];
	cJSON *r;
	store_setup(ca, "admxa", 20, &a);
	store_setup(cb, "admxb", 0, &b);
	store_setup(cx, "admxc", 0, &x);
	rs_test_server_start(&s, NULL);
	snprintf(path, sizeof(path), "/v1/stores/%s/transfers", a.store);
	snprintf(body, sizeof(body), "{\"to_store\":\"%s\",\"lines\":[{\"sku\":\"T\",\"qty\":5}]}", b.store);
	new_id(tid);
	memset(sku65, 's', 65);
	sku65[65] = '\0';
	stream_now(ca, before[0]);
	stream_now(cb, before[1]);

	/* refused, then bad bodies: nothing leaves A, nothing is in transit to B */
	{
		const char *const denied[] = { a.cashier, a.supervisor };
		expect_refused(&s, "POST", path, tid, body, denied, 2);
	}
	expect_error(&s, b.manager, "POST", path, tid, body, 403, "forbidden"); /* another store's manager */
	expect_bad_json(&s, a.manager, "POST", path, tid);
	expect_error(&s, a.manager, "POST", path, NULL, body, 400, "idempotency_key_required");
	expect_error(&s, a.manager, "POST", path, "123", body, 400, "invalid_idempotency_key");
	{
		char bad[512];
		const char *fmt[] = {
			"{\"to_store\":\"%s\",\"lines\":[{\"sku\":\"T\",\"qty\":0}]}",
			"{\"to_store\":\"%s\",\"lines\":[{\"sku\":\"T\",\"qty\":\"5\"}]}",
			"{\"to_store\":\"%s\",\"lines\":[{\"sku\":\"T\",\"qty\":1000000001}]}",
			"{\"to_store\":\"%s\",\"lines\":[{\"sku\":\"T\",\"qty\":5,\"unit_cost\":1}]}",
			"{\"to_store\":\"%s\",\"lines\":[]}",
			"{\"to_store\":\"%s\",\"lines\":[{\"sku\":\"T\",\"qty\":5},7]}",
			"{\"to_store\":\"%s\"}",
		};
		for (size_t i = 0; i < sizeof(fmt) / sizeof(fmt[0]); i++) {
			snprintf(bad, sizeof(bad), fmt[i], b.store);
			expect_error(&s, a.manager, "POST", path, tid, bad, 400, "invalid_body");
		}
		snprintf(bad, sizeof(bad), "{\"to_store\":\"%s\",\"lines\":[{\"sku\":\"T\",\"qty\":5}]}", sku65);
		expect_error(&s, a.manager, "POST", path, tid, bad, 400, "invalid_body");
		expect_error(&s, a.manager, "POST", path, tid, "{\"to_store\":5,\"lines\":[{\"sku\":\"T\",\"qty\":5}]}", 400,
		             "invalid_body");
		/* the library refuses: more than available, to itself */
		snprintf(bad, sizeof(bad), "{\"to_store\":\"%s\",\"lines\":[{\"sku\":\"T\",\"qty\":21}]}", b.store);
		expect_error(&s, a.manager, "POST", path, tid, bad, 409, "out_of_stock");
		snprintf(bad, sizeof(bad), "{\"to_store\":\"%s\",\"lines\":[{\"sku\":\"T\",\"qty\":1}]}", a.store);
		expect_error(&s, a.manager, "POST", path, tid, bad, 422, "invalid");
	}
	{
		char now[2][64];
		stream_now(ca, now[0]);
		stream_now(cb, now[1]);
		ck_assert_str_eq(now[0], before[0]);
		ck_assert_str_eq(now[1], before[1]);
	}
	level(ca, "T", 20, 0);

	/* sent: 201, and the retry with the same key 200 with the same id, applied once */
	ck_assert_int_eq(req(&s, a.manager, "POST", path, tid, body, &r), 201);
	ck_assert_str_eq(rs_json_str(r, "op_id"), tid);
	ck_assert_int_eq(rs_json_bool(r, "duplicate"), 0);
	cJSON_Delete(r);
	ck_assert_int_eq(req(&s, a.manager, "POST", path, tid, body, &r), 200);
	ck_assert_str_eq(rs_json_str(r, "op_id"), tid);
	ck_assert_int_eq(rs_json_bool(r, "duplicate"), 1);
	cJSON_Delete(r);
	level(ca, "T", 15, 0);

	/* received only at the destination: another store has no such transfer (404), and A's manager may
	 * not act for B (403); nothing arrives anywhere */
	snprintf(rpath, sizeof(rpath), "/v1/stores/%s/transfers/%s/receipts", x.store, tid);
	expect_error(&s, x.manager, "POST", rpath, NULL, "{\"lines\":[{\"sku\":\"T\",\"qty\":5}]}", 404, "not_found");
	snprintf(rpath, sizeof(rpath), "/v1/stores/%s/transfers/%s/receipts", a.store, tid);
	expect_error(&s, a.manager, "POST", rpath, NULL, "{\"lines\":[{\"sku\":\"T\",\"qty\":5}]}", 404, "not_found");
	snprintf(rpath, sizeof(rpath), "/v1/stores/%s/transfers/%s/receipts", b.store, tid);
	expect_error(&s, a.manager, "POST", rpath, NULL, "{\"lines\":[{\"sku\":\"T\",\"qty\":5}]}", 403, "forbidden");
	{
		const char *const denied[] = { b.cashier, b.supervisor };
		expect_refused(&s, "POST", rpath, NULL, "{\"lines\":[{\"sku\":\"T\",\"qty\":5}]}", denied, 2);
	}
	expect_bad_json(&s, b.manager, "POST", rpath, NULL);
	expect_error(&s, b.manager, "POST", rpath, NULL, "{\"lines\":[{\"sku\":\"T\",\"qty\":-5}]}", 400, "invalid_body");
	snprintf(body, sizeof(body), "/v1/stores/%s/transfers/not-a-uuid/receipts", b.store);
	expect_error(&s, b.manager, "POST", body, NULL, "{\"lines\":[{\"sku\":\"T\",\"qty\":5}]}", 400, "invalid_id");
	level(cx, "T", 0, 0);
	level(ca, "T", 15, 0);
	level(cb, "T", 0, 0);

	/* received in two parts, each once; more than is in transit is refused */
	new_id(rid);
	ck_assert_int_eq(req(&s, b.manager, "POST", rpath, rid, "{\"lines\":[{\"sku\":\"T\",\"qty\":3}]}", &r), 201);
	cJSON_Delete(r);
	ck_assert_int_eq(req(&s, b.manager, "POST", rpath, rid, "{\"lines\":[{\"sku\":\"T\",\"qty\":3}]}", &r), 200);
	ck_assert_int_eq(rs_json_bool(r, "duplicate"), 1);
	cJSON_Delete(r);
	level(cb, "T", 3, 0);
	expect_error(&s, b.manager, "POST", rpath, NULL, "{\"lines\":[{\"sku\":\"T\",\"qty\":3}]}", 422, "invalid");
	level(cb, "T", 3, 0);
	ck_assert_int_eq(req(&s, b.manager, "POST", rpath, NULL, "{\"lines\":[{\"sku\":\"T\",\"qty\":2}]}", &r), 201);
	cJSON_Delete(r);
	level(cb, "T", 5, 0);
	level(ca, "T", 15, 0);
	rs_test_server_stop(&s);
	redstore_client_free(ca);
	redstore_client_free(cb);
	redstore_client_free(cx);
}
END_TEST

START_TEST(reservations_apply_once_and_release_all_by_default)
{
	server s;
	creds a;
	redstore_client *c = rs_test_client();
	char path[256], rpath[256], body[256], vid[REDSTORE_ID_SIZE], lid[REDSTORE_ID_SIZE], before[64], now[64];
	int64_t expires = wall_ms() + 3600000;
	cJSON *r;
	store_setup(c, "admresv", 20, &a);
	rs_test_server_start(&s, NULL);
	snprintf(path, sizeof(path), "/v1/stores/%s/reservations", a.store);
	snprintf(body, sizeof(body), "{\"expires_at_ms\":%lld,\"lines\":[{\"sku\":\"T\",\"qty\":4}]}", (long long)expires);
	new_id(vid);
	stream_now(c, before);

	{
		const char *const denied[] = { a.cashier, a.supervisor };
		expect_refused(&s, "POST", path, vid, body, denied, 2);
	}
	expect_bad_json(&s, a.manager, "POST", path, vid);
	expect_error(&s, a.manager, "POST", path, NULL, body, 400, "idempotency_key_required");
	expect_error(&s, a.manager, "POST", path, vid, "{\"expires_at_ms\":1.5,\"lines\":[{\"sku\":\"T\",\"qty\":4}]}", 400,
	             "invalid_body");
	expect_error(&s, a.manager, "POST", path, vid, "{\"expires_at_ms\":1e20,\"lines\":[{\"sku\":\"T\",\"qty\":4}]}",
	             400, "invalid_body");
	expect_error(&s, a.manager, "POST", path, vid, "{\"lines\":[{\"sku\":\"T\",\"qty\":4}]}", 400, "invalid_body");
	expect_error(&s, a.manager, "POST", path, vid, "{\"expires_at_ms\":1000,\"lines\":[{\"sku\":\"T\",\"qty\":4}]}",
	             422, "invalid"); /* in the past */
	snprintf(rpath, sizeof(rpath), "{\"expires_at_ms\":%lld,\"lines\":[{\"sku\":\"T\",\"qty\":21}]}",
	         (long long)expires);
	expect_error(&s, a.manager, "POST", path, vid, rpath, 409, "out_of_stock");
	stream_now(c, now);
	ck_assert_str_eq(now, before);
	level(c, "T", 20, 0);

	/* created once */
	ck_assert_int_eq(req(&s, a.manager, "POST", path, vid, body, &r), 201);
	ck_assert_str_eq(rs_json_str(r, "op_id"), vid);
	cJSON_Delete(r);
	ck_assert_int_eq(req(&s, a.manager, "POST", path, vid, body, &r), 200);
	ck_assert_int_eq(rs_json_bool(r, "duplicate"), 1);
	{
		const cJSON *l = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r, "levels"), 0);
		ck_assert_int_eq(rs_json_num(l, "reserved"), 4);
		ck_assert_int_eq(rs_json_num(l, "available"), 16);
	}
	cJSON_Delete(r);
	level(c, "T", 20, 4);

	/* a partial release, once */
	snprintf(rpath, sizeof(rpath), "/v1/stores/%s/reservations/%s/releases", a.store, vid);
	{
		const char *const denied[] = { a.cashier, a.supervisor };
		expect_refused(&s, "POST", rpath, NULL, "{\"lines\":[{\"sku\":\"T\",\"qty\":1}]}", denied, 2);
	}
	expect_error(&s, a.manager, "POST", rpath, NULL, "{\"lines\":[]}", 400, "invalid_body");
	expect_error(&s, a.manager, "POST", rpath, NULL, "{\"lines\":[{\"sku\":\"T\",\"qty\":1}],\"all\":true}", 400,
	             "invalid_body");
	expect_error(&s, a.manager, "POST", rpath, NULL, "{\"lines\":[{\"sku\":\"T\",\"qty\":5}]}", 422, "invalid");
	level(c, "T", 20, 4);
	new_id(lid);
	ck_assert_int_eq(req(&s, a.manager, "POST", rpath, lid, "{\"lines\":[{\"sku\":\"T\",\"qty\":1}]}", &r), 201);
	cJSON_Delete(r);
	ck_assert_int_eq(req(&s, a.manager, "POST", rpath, lid, "{\"lines\":[{\"sku\":\"T\",\"qty\":1}]}", &r), 200);
	cJSON_Delete(r);
	level(c, "T", 20, 3);
	/* no body: everything it still holds, once */
	new_id(lid);
	ck_assert_int_eq(req(&s, a.manager, "POST", rpath, lid, NULL, &r), 201);
	ck_assert_int_eq(rs_json_bool(r, "duplicate"), 0);
	cJSON_Delete(r);
	level(c, "T", 20, 0);
	ck_assert_int_eq(req(&s, a.manager, "POST", rpath, lid, NULL, &r), 200);
	ck_assert_int_eq(rs_json_bool(r, "duplicate"), 1);
	cJSON_Delete(r);
	level(c, "T", 20, 0);
	/* an unknown reservation */
	new_id(lid);
	snprintf(rpath, sizeof(rpath), "/v1/stores/%s/reservations/%s/releases", a.store, lid);
	expect_error(&s, a.manager, "POST", rpath, NULL, "{}", 404, "not_found");
	rs_test_server_stop(&s);
	redstore_client_free(c);
}
END_TEST

/* Logs employee in on the device through the library: 0 or the library's error; *role its role. */
static int try_login(redstore_client *c, const char *device, const char *employee, const char *pin, redstore_role *role)
{
	char *t = NULL;
	int rc = redstore_auth_login(&t, c, device, employee, pin);
	if (!rc && role) {
		redstore_client *s = rs_test_client();
		redstore_session_info who;
		RS_OK(redstore_auth_attach(s, t));
		RS_OK(redstore_auth_session(&who, s));
		*role = who.role;
		redstore_client_free(s);
	}
	redstore_free(t);
	return rc;
}

START_TEST(employees_are_added_and_changed_by_managers_without_echoing_pins)
{
	server s;
	creds a;
	redstore_client *c = rs_test_client();
	char path[256], item[256], body[512], *raw = NULL;
	redstore_role role;
	CURLcode crc;
	long st;
	cJSON *r;
	store_setup(c, "admemp", 0, &a);
	rs_test_server_start(&s, NULL);
	snprintf(path, sizeof(path), "/v1/stores/%s/employees", a.store);
	snprintf(item, sizeof(item), "/v1/stores/%s/employees/new1", a.store);
	snprintf(body, sizeof(body), "{\"employee_id\":\"new1\",\"name\":\"Nico\",\"role\":\"cashier\",\"pin\":\"5859\"}");

	{
		const char *const denied[] = { a.cashier, a.supervisor };
		expect_refused(&s, "POST", path, NULL, body, denied, 2);
	}
	expect_bad_json(&s, a.manager, "POST", path, NULL);
	{
		/* after {"employee_id":"new1","name":"Nico", */
		static const struct {
			const char *rest;
			long status;
			const char *code;
		} bad[] = {
			{ "\"role\":\"cashier\",\"pin\":5859}", 400, "invalid_body" },           /* a number */
			{ "\"role\":\"cashier\",\"pin\":\"5859585958595\"}", 400, "invalid_body" }, /* 13 digits */
			{ "\"role\":\"king\",\"pin\":\"5859\"}", 400, "invalid_body" },
			{ "\"pin\":\"5859\"}", 400, "invalid_body" }, /* no role */
			{ "\"role\":\"cashier\",\"pin\":\"5859\",\"pin_hash\":\"x\"}", 400, "invalid_body" },
			/* the library's rules: PIN digits, a manager adds no manager */
			{ "\"role\":\"cashier\",\"pin\":\"58a9\"}", 422, "invalid" },
			{ "\"role\":\"manager\",\"pin\":\"5859\"}", 403, "forbidden" },
		};
		char b[256];
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			snprintf(b, sizeof(b), "{\"employee_id\":\"new1\",\"name\":\"Nico\",%s", bad[i].rest);
			expect_error(&s, a.manager, "POST", path, NULL, b, bad[i].status, bad[i].code);
		}
	}
	ck_assert_int_eq(try_login(c, a.device, "new1", "5859", NULL), REDSTORE_EAUTH);

	/* added: 201 without the PIN or its hash; the employee logs in with it */
	st = rs_http(s.port, a.manager, "POST", path, NULL, body, 30000, &raw, &crc);
	ck_assert_int_eq(crc, CURLE_OK);
	ck_assert_int_eq(st, 201);
	ck_assert_ptr_null(strstr(raw, "5859"));
	ck_assert_ptr_null(strstr(raw, "pin"));
	ck_assert_ptr_null(strstr(raw, "argon2"));
	r = cJSON_Parse(raw);
	free(raw);
	ck_assert_str_eq(rs_json_str(r, "employee_id"), "new1");
	ck_assert_str_eq(rs_json_str(r, "role"), "cashier");
	ck_assert_int_eq(rs_json_bool(r, "active"), 1);
	cJSON_Delete(r);
	RS_OK(try_login(c, a.device, "new1", "5859", &role));
	ck_assert_int_eq(role, REDSTORE_ROLE_CASHIER);
	expect_error(&s, a.manager, "POST", path, NULL, body, 409, "conflict");

	/* changes: refused and bad ones change nothing */
	{
		const char *const denied[] = { a.cashier, a.supervisor };
		expect_refused(&s, "PATCH", item, NULL, "{\"role\":\"supervisor\",\"active\":false}", denied, 2);
	}
	expect_bad_json(&s, a.manager, "PATCH", item, NULL);
	expect_error(&s, a.manager, "PATCH", item, NULL, "{}", 400, "invalid_body");
	expect_error(&s, a.manager, "PATCH", item, NULL, "{\"role\":\"king\"}", 400, "invalid_body");
	expect_error(&s, a.manager, "PATCH", item, NULL, "{\"role\":\"supervisor\",\"active\":0}", 400, "invalid_body");
	expect_error(&s, a.manager, "PATCH", item, NULL, "{\"pin\":\"1234\"}", 400, "invalid_body");
	expect_error(&s, a.manager, "PATCH", item, NULL, "{\"role\":\"admin\"}", 403, "forbidden");
	RS_OK(try_login(c, a.device, "new1", "5859", &role));
	ck_assert_int_eq(role, REDSTORE_ROLE_CASHIER);
	snprintf(body, sizeof(body), "/v1/stores/%s/employees/ghost", a.store);
	expect_error(&s, a.manager, "PATCH", body, NULL, "{\"active\":false}", 404, "not_found");

	/* role, then active */
	ck_assert_int_eq(req(&s, a.manager, "PATCH", item, NULL, "{\"role\":\"supervisor\"}", &r), 200);
	ck_assert_str_eq(rs_json_str(r, "role"), "supervisor");
	cJSON_Delete(r);
	RS_OK(try_login(c, a.device, "new1", "5859", &role));
	ck_assert_int_eq(role, REDSTORE_ROLE_SUPERVISOR);
	ck_assert_int_eq(req(&s, a.manager, "PATCH", item, NULL, "{\"active\":false}", &r), 200);
	ck_assert_int_eq(rs_json_bool(r, "active"), 0);
	cJSON_Delete(r);
	ck_assert_int_eq(try_login(c, a.device, "new1", "5859", NULL), REDSTORE_EINACTIVE);
	/* an admin may make a manager */
	ck_assert_int_eq(req(&s, a.admin, "PATCH", item, NULL, "{\"role\":\"manager\",\"active\":true}", &r), 200);
	cJSON_Delete(r);
	RS_OK(try_login(c, a.device, "new1", "5859", &role));
	ck_assert_int_eq(role, REDSTORE_ROLE_MANAGER);
	rs_test_server_stop(&s);
	redstore_client_free(c);
}
END_TEST

START_TEST(terminals_are_listed_by_managers_and_revoked_by_admins_and_audit_verifies)
{
	server s;
	creds a;
	redstore_client *c = rs_test_client();
	char path[256], item[256], bad[256], code[REDSTORE_PAIRING_CODE_SIZE], device2[REDSTORE_DEVICE_TOKEN_SIZE];
	char t2[REDSTORE_ID_SIZE], other[REDSTORE_ID_SIZE];
	redstore_audit_report lib;
	cJSON *r;
	const cJSON *list, *t;
	int found = 0;
	store_setup(c, "admterm", 0, &a);
	RS_OK(redstore_auth_pairing_code_new(code, c, "till 2"));
	RS_OK(redstore_auth_pair(device2, t2, c, code));
	rs_test_server_start(&s, NULL);
	snprintf(path, sizeof(path), "/v1/stores/%s/terminals", a.store);
	snprintf(item, sizeof(item), "/v1/stores/%s/terminals/%s/revoke", a.store, t2);

	{
		const char *const denied[] = { a.cashier, a.supervisor };
		expect_refused(&s, "GET", path, NULL, NULL, denied, 2);
	}
	ck_assert_int_eq(req(&s, a.manager, "GET", path, NULL, NULL, &r), 200);
	list = cJSON_GetObjectItemCaseSensitive(r, "terminals");
	ck_assert_int_eq(cJSON_GetArraySize(list), 2);
	cJSON_ArrayForEach(t, list) {
		ck_assert_int_eq(rs_json_bool(t, "revoked"), 0);
		found += !strcmp(rs_json_str(t, "terminal_id"), t2) && !strcmp(rs_json_str(t, "name"), "till 2");
		ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(t, "device_token"));
	}
	ck_assert_int_eq(found, 1);
	cJSON_Delete(r);

	/* revoking: admins only (REDSTORE_PERM_TERMINALS); refused, bad ids and bodies leave it paired */
	{
		const char *const denied[] = { a.cashier, a.supervisor, a.manager };
		expect_refused(&s, "POST", item, NULL, NULL, denied, 3);
	}
	expect_error(&s, a.admin, "POST", item, NULL, "{\"now\":true}", 400, "invalid_body");
	expect_error(&s, a.admin, "POST", item, NULL, "{", 400, "malformed_json");
	snprintf(bad, sizeof(bad), "/v1/stores/%s/terminals/till-2/revoke", a.store);
	expect_error(&s, a.admin, "POST", bad, NULL, NULL, 400, "invalid_id");
	new_id(other);
	snprintf(bad, sizeof(bad), "/v1/stores/%s/terminals/%s/revoke", a.store, other);
	expect_error(&s, a.admin, "POST", bad, NULL, NULL, 404, "not_found");
	RS_OK(try_login(c, device2, "cash1", "1111", NULL));

	/* revoked: 200, a retry answers the same; the device cannot log in any more */
	ck_assert_int_eq(req(&s, a.admin, "POST", item, NULL, NULL, &r), 200);
	ck_assert_str_eq(rs_json_str(r, "terminal_id"), t2);
	ck_assert_int_eq(rs_json_bool(r, "revoked"), 1);
	cJSON_Delete(r);
	ck_assert_int_eq(req(&s, a.admin, "POST", item, NULL, "{}", &r), 200);
	ck_assert_int_eq(rs_json_bool(r, "revoked"), 1);
	cJSON_Delete(r);
	ck_assert_int_eq(try_login(c, device2, "cash1", "1111", NULL), REDSTORE_EAUTH);
	ck_assert_int_eq(req(&s, a.manager, "GET", path, NULL, NULL, &r), 200);
	cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(r, "terminals"))
		ck_assert_int_eq(rs_json_bool(t, "revoked"), !strcmp(rs_json_str(t, "terminal_id"), t2));
	cJSON_Delete(r);

	/* the audit chain: managers (REDSTORE_PERM_REPORTS, as the library requires) see what the library sees */
	snprintf(path, sizeof(path), "/v1/stores/%s/audit/verify", a.store);
	{
		const char *const denied[] = { a.cashier, a.supervisor };
		expect_refused(&s, "GET", path, NULL, NULL, denied, 2);
	}
	ck_assert_int_eq(req(&s, a.manager, "GET", path, NULL, NULL, &r), 200);
	RS_OK(redstore_audit_verify(&lib, c));
	ck_assert_int_eq(lib.ok, 1);
	ck_assert_int_eq(rs_json_bool(r, "ok"), 1);
	ck_assert_int_eq(rs_json_num(r, "entries"), lib.entries);
	ck_assert_int_gt(rs_json_num(r, "entries"), 10); /* adds, pairings, logins, the revocation */
	ck_assert_int_eq(rs_json_num(r, "bad_seq"), 0);
	cJSON_Delete(r);
	rs_test_server_stop(&s);
	redstore_client_free(c);
}
END_TEST

static Suite *admin_api_suite(void)
{
	Suite *s = suite_create("admin_api");
	TCase *t = tcase_create("admin_api");
	tcase_set_timeout(t, 300);
	tcase_add_test(t, catalog_writes_apply_for_managers_only_and_bad_bodies_change_nothing);
	tcase_add_test(t, transfers_apply_once_and_only_at_their_destination);
	tcase_add_test(t, reservations_apply_once_and_release_all_by_default);
	tcase_add_test(t, employees_are_added_and_changed_by_managers_without_echoing_pins);
	tcase_add_test(t, terminals_are_listed_by_managers_and_revoked_by_admins_and_audit_verifies);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return rs_test_server_main(admin_api_suite(), AUTH_SECRET);
}
