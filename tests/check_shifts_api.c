/* The shift endpoints of redstore-server, against the real program on a free port and the dev stack, on
 * this run's own Kafka topics with its own projector group: a drawer opened, moved, closed and reported
 * over HTTP gives the same figures as the library; the Idempotency-Key opens a shift and records a
 * movement once; a Z report is issued once and then answered unchanged; a cashier cannot touch another
 * terminal's drawer (403), no token gets 401; bad bodies, ids and parameters get 400 naming them. */
#include "http.h"
#include "server.h"
#include "projector.h"
#include "testutil.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUTH_SECRET "shifts-api-test-secret-0123456789-abcdefghij"

typedef rs_test_server server;

/* This run's topics and projector group (chosen in main, before the tests fork; the server inherits them). */
static char topic_prefix[64], group[64];

/* ------------------------------------------------------------ fixtures */

/* A cashier and a manager on one paired terminal, a manager on a second one. */
typedef struct creds {
	char terminal[REDSTORE_ID_SIZE], terminal2[REDSTORE_ID_SIZE];
	char cashier[1024], manager[1024], manager2[1024];
} creds;

static void login(redstore_client *c, const char *device, const char *employee, const char *pin, char *out)
{
	char *t;
	RS_OK(redstore_auth_login(&t, c, device, employee, pin));
	snprintf(out, 1024, "%s", t);
	redstore_free(t);
}

static void sessions(redstore_client *c, creds *k)
{
	char code[REDSTORE_PAIRING_CODE_SIZE], device[REDSTORE_DEVICE_TOKEN_SIZE], device2[REDSTORE_DEVICE_TOKEN_SIZE];
	RS_OK(redstore_auth_employee_add(c, "cash1", "Casey", REDSTORE_ROLE_CASHIER, "1111"));
	RS_OK(redstore_auth_employee_add(c, "man1", "Morgan", REDSTORE_ROLE_MANAGER, "3333"));
	RS_OK(redstore_auth_pairing_code_new(code, c, "till 1"));
	RS_OK(redstore_auth_pair(device, k->terminal, c, code));
	RS_OK(redstore_auth_pairing_code_new(code, c, "till 2"));
	RS_OK(redstore_auth_pair(device2, k->terminal2, c, code));
	login(c, device, "cash1", "1111", k->cashier);
	login(c, device, "man1", "3333", k->manager);
	login(c, device2, "man1", "3333", k->manager2);
}

/* `method` `path` with token, key and body; returns the status and the parsed body (NULL when not JSON). */
static long call(const server *s, const char *token, const char *method, const char *path, const char *idem,
                 const char *body, cJSON **out)
{
	char *text = NULL;
	CURLcode rc;
	long st = rs_http(s->port, token, method, path, idem, body, 60000, &text, &rc);
	ck_assert_msg(rc == CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror(rc));
	*out = text ? cJSON_Parse(text) : NULL;
	free(text);
	return st;
}

/* The call fails with `status` and error `code`, and the message names `needle` (NULL: not checked). */
static void expect_error(const server *s, const char *token, const char *method, const char *path, const char *idem,
                         const char *body, long status, const char *code, const char *needle)
{
	cJSON *r;
	long st = call(s, token, method, path, idem, body, &r);
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(r, "error");
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(err, "code"), *m = cJSON_GetObjectItemCaseSensitive(err, "message");
	ck_assert_msg(st == status && cJSON_IsString(c) && !strcmp(c->valuestring, code), "%s %s %s: %ld %s (expected %ld %s)",
	              method, path, body ? body : "", st, cJSON_IsString(c) ? c->valuestring : "?", status, code);
	if (needle)
		ck_assert_msg(cJSON_IsString(m) && strstr(m->valuestring, needle), "%s %s: message \"%s\" does not name %s",
		              method, path, cJSON_IsString(m) ? m->valuestring : "?", needle);
	cJSON_Delete(r);
}

/* The server's report has the library's figures (all of redstore_shift_report_to_json but when it was
 * made, for an X report). */
static void same_report(const cJSON *body, const redstore_shift_report *lib, int final)
{
	static const char *const keys[] = { "z_number",    "window_from_ms", "opening_float",  "cash_sales",
		                                "cash_refunds", "paid_in",        "paid_out",       "expected_cash",
		                                "sales_count", "sales_total",    "refunds_count",  "refunds_total",
		                                "voids_count", "voids_total",    "paid_in_count",  "paid_out_count",
		                                "counted_cash", "difference" };
	char *json;
	cJSON *want;
	RS_OK(redstore_shift_report_to_json(&json, lib));
	ck_assert_ptr_nonnull(want = cJSON_Parse(json));
	redstore_free(json);
	ck_assert_str_eq(rs_json_str(body, "report"), final ? "Z" : "X");
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(body, keys[i]), *b = cJSON_GetObjectItemCaseSensitive(want, keys[i]);
		ck_assert_msg(a && b && cJSON_Compare(a, b, 1), "report field %s differs", keys[i]);
	}
	if (final) {
		ck_assert(cJSON_Compare(cJSON_GetObjectItemCaseSensitive(body, "issued_at_ms"),
		                        cJSON_GetObjectItemCaseSensitive(want, "issued_at_ms"), 1));
		ck_assert(cJSON_Compare(cJSON_GetObjectItemCaseSensitive(body, "window_to_ms"),
		                        cJSON_GetObjectItemCaseSensitive(want, "window_to_ms"), 1));
	}
	ck_assert(cJSON_Compare(cJSON_GetObjectItemCaseSensitive(body, "tenders"), cJSON_GetObjectItemCaseSensitive(want, "tenders"), 1));
	ck_assert(cJSON_Compare(cJSON_GetObjectItemCaseSensitive(body, "shift"), cJSON_GetObjectItemCaseSensitive(want, "shift"), 1));
	cJSON_Delete(want);
}

static redstore_receipt *sell(redstore_client *c, const char *sku, int64_t qty, redstore_tender_kind kind, int64_t amount)
{
	redstore_sale *s;
	redstore_receipt *r;
	RS_OK(redstore_sale_new(&s, NULL));
	RS_OK(redstore_sale_add_line(s, sku, qty, NULL));
	RS_OK(redstore_sale_add_tender(s, kind, amount, NULL));
	RS_OK(redstore_sale_commit(&r, c, s));
	redstore_sale_free(s);
	return r;
}

/* ------------------------------------------------------------ tests */

START_TEST(shifts_api_drawer_over_http_matches_the_library_and_z_is_issued_once)
{
	const char *const extra[] = { "--projector-group", group, NULL };
	redstore_client *c = rs_test_client(), *till = rs_test_client();
	redstore_shift_report *lib;
	redstore_shift_info info;
	redstore_receipt *r;
	server s;
	creds k;
	rs_test_projector p;
	char store[65], path[512], shift_id[REDSTORE_ID_SIZE], key[REDSTORE_ID_SIZE], move[REDSTORE_ID_SIZE], body[256];
	cJSON *a, *b;
	int64_t z_number, issued_at;

	RS_OK(redstore_db_migrate(c, NULL));
	rs_test_store(c, "shapi", store, 0);
	rs_test_product(c, "P1", 250, "standard", REDSTORE_STOCK_DENY, 100);
	sessions(c, &k);
	RS_OK(redstore_client_use_store(till, store));
	RS_OK(redstore_client_set_actor(till, k.terminal, "cash1"));
	/* A sale before the shift: it makes the sales topic, and is not the drawer's. */
	redstore_receipt_free(sell(till, "P1", 1, REDSTORE_TENDER_CASH, 250));
	rs_test_server_start(&s, extra);

	/* Open twice with one Idempotency-Key: one shift. */
	RS_OK(redstore_id_new(key));
	snprintf(path, sizeof(path), "/v1/stores/%s/shifts", store);
	ck_assert_int_eq(call(&s, k.cashier, "POST", path, key, "{\"opening_float\":10000}", &a), 201);
	ck_assert_str_eq(rs_json_str(a, "shift_id"), key);
	ck_assert_str_eq(rs_json_str(a, "terminal_id"), k.terminal);
	ck_assert_str_eq(rs_json_str(a, "opened_by"), "cash1");
	ck_assert_int_eq(rs_json_num(a, "opening_float"), 10000);
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(a, "duplicate")));
	ck_assert_int_eq(call(&s, k.cashier, "POST", path, key, "{\"opening_float\":10000}", &b), 200);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(b, "duplicate")));
	ck_assert_int_eq(rs_json_num(b, "opened_at_ms"), rs_json_num(a, "opened_at_ms"));
	cJSON_Delete(a);
	cJSON_Delete(b);
	snprintf(shift_id, sizeof(shift_id), "%s", key);
	/* Another key while it is open: the terminal has an open shift. */
	RS_OK(redstore_id_new(key));
	expect_error(&s, k.cashier, "POST", path, key, "{\"opening_float\":5}", 409, "conflict", shift_id);
	/* Every topic exists now. */
	rs_test_projector_start(&p, NULL, group);

	/* The current shift of the session's terminal, and by id. */
	snprintf(path, sizeof(path), "/v1/stores/%s/shifts/current", store);
	ck_assert_int_eq(call(&s, k.cashier, "GET", path, NULL, NULL, &a), 200);
	ck_assert_str_eq(rs_json_str(a, "shift_id"), shift_id);
	cJSON_Delete(a);
	snprintf(path, sizeof(path), "/v1/stores/%s/shifts/current?terminal_id=%s", store, k.terminal);
	ck_assert_int_eq(call(&s, k.manager2, "GET", path, NULL, NULL, &a), 200);
	ck_assert_str_eq(rs_json_str(a, "shift_id"), shift_id);
	cJSON_Delete(a);
	snprintf(path, sizeof(path), "/v1/stores/%s/shifts/current?terminal_id=%s", store, k.terminal2);
	expect_error(&s, k.manager, "GET", path, NULL, NULL, 404, "not_found", NULL);
	snprintf(path, sizeof(path), "/v1/stores/%s/shifts/%s", store, shift_id);
	ck_assert_int_eq(call(&s, k.cashier, "GET", path, NULL, NULL, &a), 200);
	RS_OK(redstore_shift_get(&info, c, shift_id));
	ck_assert_int_eq(rs_json_num(a, "opened_at_ms"), info.opened_at_ms);
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(a, "closed")));
	cJSON_Delete(a);

	/* Sales of the drawer: 500 paid 2000 cash (change 1500), 250 by card. */
	r = sell(till, "P1", 2, REDSTORE_TENDER_CASH, 2000);
	ck_assert_int_eq(r->change_due, 1500);
	redstore_receipt_free(r);
	redstore_receipt_free(sell(till, "P1", 1, REDSTORE_TENDER_CARD, 250));

	/* Paid-in twice with one key: recorded once; a paid-out without a key gets an id. */
	RS_OK(redstore_id_new(move));
	snprintf(path, sizeof(path), "/v1/stores/%s/shifts/%s/cash-moves", store, shift_id);
	snprintf(body, sizeof(body), "{\"kind\":\"paid_in\",\"amount\":1000,\"reason\":\"change from the bank\"}");
	ck_assert_int_eq(call(&s, k.cashier, "POST", path, move, body, &a), 201);
	ck_assert_str_eq(rs_json_str(a, "movement_id"), move);
	cJSON_Delete(a);
	ck_assert_int_eq(call(&s, k.cashier, "POST", path, move, body, &a), 201);
	cJSON_Delete(a);
	ck_assert_int_eq(call(&s, k.cashier, "POST", path, NULL, "{\"kind\":\"paid_out\",\"amount\":300,\"reason\":\"window cleaner\"}",
	                      &a),
	                 201);
	ck_assert_int_eq(redstore_id_check(rs_json_str(a, "movement_id"), "movement"), 0);
	cJSON_Delete(a);
	/* The same key for another movement: a conflict, nothing recorded. */
	expect_error(&s, k.cashier, "POST", path, move, "{\"kind\":\"paid_in\",\"amount\":5,\"reason\":\"x\"}", 409,
	             "conflict", NULL);

	/* X report: the library's figures, once the projector has everything. */
	{
		redstore_maintenance_options wo = { group, 60000 };
		RS_OK(redstore_projector_wait(NULL, c, &wo));
	}
	snprintf(path, sizeof(path), "/v1/stores/%s/shifts/%s/x-report", store, shift_id);
	ck_assert_int_eq(call(&s, k.cashier, "GET", path, NULL, NULL, &a), 200);
	RS_OK(redstore_shift_x_report(&lib, c, shift_id));
	ck_assert_int_eq(lib->cash_sales, 500);
	ck_assert_int_eq(lib->paid_in_count, 1);
	ck_assert_int_eq(lib->expected_cash, 10000 + 500 + 1000 - 300);
	same_report(a, lib, 0);
	/* The store's sales by tender over the shift's window count the money as the shift does. */
	{
		redstore_report_options o = { REDSTORE_BUCKET_ALL, REDSTORE_GROUP_TENDER, 0 };
		redstore_sales_report *t;
		RS_OK(redstore_report_sales(&t, c, info.opened_at_ms, lib->window_to_ms + 1, &o));
		ck_assert_uint_eq(t->count, 2);
		ck_assert_str_eq(t->rows[0].key, "card");
		ck_assert_int_eq(t->rows[0].total, lib->tenders[REDSTORE_TENDER_CARD].sales_amount);
		ck_assert_str_eq(t->rows[1].key, "cash");
		ck_assert_int_eq(t->rows[1].total, lib->tenders[REDSTORE_TENDER_CASH].sales_amount);
		ck_assert_int_eq(t->rows[1].total, 500);
		redstore_sales_report_free(t);
	}
	redstore_shift_report_free(lib);
	cJSON_Delete(a);

	/* A Z report of an open shift: refused. */
	snprintf(path, sizeof(path), "/v1/stores/%s/shifts/%s/z-report?wait_ms=0", store, shift_id);
	expect_error(&s, k.cashier, "POST", path, NULL, NULL, 409, "conflict", NULL);

	/* Close; closing again changes nothing. */
	snprintf(path, sizeof(path), "/v1/stores/%s/shifts/%s/close", store, shift_id);
	ck_assert_int_eq(call(&s, k.cashier, "POST", path, NULL, "{\"counted_cash\":11150}", &a), 200);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "closed")));
	ck_assert_int_eq(rs_json_num(a, "counted_cash"), 11150);
	ck_assert_str_eq(rs_json_str(a, "closed_by"), "cash1");
	cJSON_Delete(a);
	expect_error(&s, k.cashier, "POST", path, NULL, "{\"counted_cash\":99}", 409, "conflict", NULL);
	snprintf(path, sizeof(path), "/v1/stores/%s/shifts/%s/cash-moves", store, shift_id);
	expect_error(&s, k.cashier, "POST", path, NULL, "{\"kind\":\"paid_in\",\"amount\":5,\"reason\":\"late\"}", 409,
	             "conflict", NULL);

	/* Z report: issued once (POST), then the same number and figures (POST again, GET, the library). */
	snprintf(path, sizeof(path), "/v1/stores/%s/shifts/%s/z-report?wait_ms=30000", store, shift_id);
	ck_assert_int_eq(call(&s, k.cashier, "POST", path, NULL, NULL, &a), 200);
	ck_assert_str_eq(rs_json_str(a, "report"), "Z");
	z_number = rs_json_num(a, "z_number");
	issued_at = rs_json_num(a, "issued_at_ms");
	ck_assert_int_eq(z_number, 1);
	ck_assert_int_eq(rs_json_num(a, "expected_cash"), 11200);
	ck_assert_int_eq(rs_json_num(a, "difference"), -50);
	ck_assert_int_eq(call(&s, k.cashier, "POST", path, NULL, NULL, &b), 200);
	ck_assert(cJSON_Compare(a, b, 1));
	cJSON_Delete(b);
	ck_assert_int_eq(call(&s, k.manager, "GET", path, NULL, NULL, &b), 200);
	ck_assert(cJSON_Compare(a, b, 1));
	cJSON_Delete(b);
	{
		redstore_maintenance_options wo = { group, 30000 };
		RS_OK(redstore_shift_z_report(&lib, c, shift_id, &wo));
	}
	ck_assert_int_eq(lib->z_number, z_number);
	ck_assert_int_eq(lib->issued_at_ms, issued_at);
	same_report(a, lib, 1);
	redstore_shift_report_free(lib);
	cJSON_Delete(a);
	RS_OK(redstore_shift_get(&info, c, shift_id));
	ck_assert_int_eq(info.z_number, 1);

	rs_test_projector_stop(&p);
	rs_test_server_stop(&s);
	redstore_client_free(till);
	redstore_client_free(c);
}
END_TEST

START_TEST(shifts_api_refuses_other_drawers_bad_input_and_no_session)
{
	redstore_client *c = rs_test_client();
	server s;
	creds k;
	char store[65], path[512], own[REDSTORE_ID_SIZE], other[REDSTORE_ID_SIZE], key[REDSTORE_ID_SIZE];
	static const char *const bad_open[] = {
		"{}",                                              /* opening_float is required */
		"{\"opening_float\":-1}",
		"{\"opening_float\":1.5}",
		"{\"opening_float\":\"100\"}",
		"{\"opening_float\":100,\"till\":\"A\"}",           /* unknown field */
		"{\"opening_float\":100,\"opening_float\":100}",    /* repeated */
		"{\"opening_float\":100,\"terminal_id\":7}",
		"[1]",
		"{\"opening_float\":100",
	};
	static const char *const bad_move[] = {
		"{\"kind\":\"bribe\",\"amount\":5,\"reason\":\"x\"}",
		"{\"kind\":\"paid_in\",\"amount\":0,\"reason\":\"x\"}",
		"{\"kind\":\"paid_in\",\"amount\":5}",
		"{\"amount\":5,\"reason\":\"x\"}",
		"{\"kind\":\"paid_in\",\"amount\":5,\"reason\":\"x\",\"note\":\"y\"}",
	};
	cJSON *a;

	rs_test_store(c, "shbad", store, 0);
	sessions(c, &k);
	rs_test_server_start(&s, NULL);

	/* The cashier's own drawer, and one a manager opened on the other terminal. */
	RS_OK(redstore_id_new(own));
	snprintf(path, sizeof(path), "/v1/stores/%s/shifts", store);
	ck_assert_int_eq(call(&s, k.cashier, "POST", path, own, "{\"opening_float\":100}", &a), 201);
	cJSON_Delete(a);
	RS_OK(redstore_id_new(other));
	{
		char body[200];
		snprintf(body, sizeof(body), "{\"opening_float\":50,\"terminal_id\":\"%s\"}", k.terminal2);
		/* a cashier cannot open another terminal's drawer; the manager can */
		expect_error(&s, k.cashier, "POST", path, other, body, 403, "forbidden", NULL);
		ck_assert_int_eq(call(&s, k.manager, "POST", path, other, body, &a), 201);
		ck_assert_str_eq(rs_json_str(a, "terminal_id"), k.terminal2);
		cJSON_Delete(a);
	}

	/* The cashier on the other terminal's shift: 403 for everything; no token: 401. */
	{
		static const char *const gets[] = { "", "/x-report", "/z-report" };
		for (size_t i = 0; i < 3; i++) {
			snprintf(path, sizeof(path), "/v1/stores/%s/shifts/%s%s", store, other, gets[i]);
			expect_error(&s, k.cashier, "GET", path, NULL, NULL, 403, "forbidden", NULL);
			expect_error(&s, NULL, "GET", path, NULL, NULL, 401, "unauthenticated", NULL);
		}
		snprintf(path, sizeof(path), "/v1/stores/%s/shifts/%s/cash-moves", store, other);
		expect_error(&s, k.cashier, "POST", path, NULL, "{\"kind\":\"paid_out\",\"amount\":5,\"reason\":\"x\"}", 403,
		             "forbidden", NULL);
		expect_error(&s, NULL, "POST", path, NULL, "{\"kind\":\"paid_out\",\"amount\":5,\"reason\":\"x\"}", 401,
		             "unauthenticated", NULL);
		snprintf(path, sizeof(path), "/v1/stores/%s/shifts/%s/close", store, other);
		expect_error(&s, k.cashier, "POST", path, NULL, "{\"counted_cash\":50}", 403, "forbidden", NULL);
		expect_error(&s, NULL, "POST", path, NULL, "{\"counted_cash\":50}", 401, "unauthenticated", NULL);
		snprintf(path, sizeof(path), "/v1/stores/%s/shifts/current?terminal_id=%s", store, k.terminal2);
		expect_error(&s, k.cashier, "GET", path, NULL, NULL, 403, "forbidden", NULL);
		snprintf(path, sizeof(path), "/v1/stores/%s/shifts", store);
		expect_error(&s, NULL, "POST", path, NULL, "{\"opening_float\":1}", 401, "unauthenticated", NULL);
	}
	/* The other terminal's drawer is unchanged; the manager reads it. */
	{
		redstore_shift_info sh;
		RS_OK(redstore_shift_get(&sh, c, other));
		ck_assert_int_eq(sh.closed, 0);
		snprintf(path, sizeof(path), "/v1/stores/%s/shifts/%s/x-report", store, other);
		ck_assert_int_eq(call(&s, k.manager, "GET", path, NULL, NULL, &a), 200);
		ck_assert_int_eq(rs_json_num(a, "paid_out_count"), 0);
		ck_assert_int_eq(rs_json_num(a, "opening_float"), 50);
		cJSON_Delete(a);
	}

	/* Bad bodies, ids and parameters: 400 naming what is wrong, nothing written. */
	snprintf(path, sizeof(path), "/v1/stores/%s/shifts", store);
	for (size_t i = 0; i < sizeof(bad_open) / sizeof(bad_open[0]); i++) {
		RS_OK(redstore_id_new(key));
		expect_error(&s, k.manager, "POST", path, key, bad_open[i], 400,
		             bad_open[i][0] == '[' || !strchr(bad_open[i], '}') ? "malformed_json" : "invalid_body", NULL);
	}
	expect_error(&s, k.manager, "POST", path, NULL, "{\"opening_float\":-1}", 400, "invalid_body", "opening_float");
	expect_error(&s, k.manager, "POST", path, "not-a-uuid", "{\"opening_float\":1}", 400, "invalid_idempotency_key",
	             "Idempotency-Key");
	snprintf(path, sizeof(path), "/v1/stores/%s/shifts/%s/cash-moves", store, own);
	for (size_t i = 0; i < sizeof(bad_move) / sizeof(bad_move[0]); i++)
		expect_error(&s, k.cashier, "POST", path, NULL, bad_move[i], 400, "invalid_body", NULL);
	expect_error(&s, k.cashier, "POST", path, NULL, bad_move[0], 400, "invalid_body", "kind");
	expect_error(&s, k.cashier, "POST", path, NULL, bad_move[2], 400, "invalid_body", "reason");
	snprintf(path, sizeof(path), "/v1/stores/%s/shifts/%s/close", store, own);
	expect_error(&s, k.cashier, "POST", path, NULL, "{\"counted_cash\":-5}", 400, "invalid_body", "counted_cash");
	expect_error(&s, k.cashier, "POST", path, NULL, "{}", 400, "invalid_body", "counted_cash");
	snprintf(path, sizeof(path), "/v1/stores/%s/shifts/not-a-shift", store);
	expect_error(&s, k.cashier, "GET", path, NULL, NULL, 400, "invalid_id", "shift id");
	snprintf(path, sizeof(path), "/v1/stores/%s/shifts/%s/z-report?wait_ms=40000", store, own);
	expect_error(&s, k.cashier, "GET", path, NULL, NULL, 400, "invalid_parameter", "wait_ms");
	snprintf(path, sizeof(path), "/v1/stores/%s/shifts/%s/x-report?format=pdf", store, own);
	expect_error(&s, k.cashier, "GET", path, NULL, NULL, 400, "invalid_parameter", "format");
	snprintf(path, sizeof(path), "/v1/stores/%s/shifts/current?terminal_id=", store);
	expect_error(&s, k.cashier, "GET", path, NULL, NULL, 400, "invalid_parameter", "terminal_id");
	{
		redstore_shift_report *x;
		RS_OK(redstore_shift_x_report(&x, c, own));
		ck_assert_int_eq(x->paid_in_count + x->paid_out_count, 0);
		ck_assert_int_eq(x->shift.closed, 0);
		redstore_shift_report_free(x);
	}
	rs_test_server_stop(&s);
	redstore_client_free(c);
}
END_TEST

static Suite *shifts_api_suite(void)
{
	Suite *s = suite_create("shifts_api");
	TCase *t = tcase_create("shifts_api");
	tcase_set_timeout(t, 180);
	tcase_add_test(t, shifts_api_drawer_over_http_matches_the_library_and_z_is_issued_once);
	tcase_add_test(t, shifts_api_refuses_other_drawers_bad_input_and_no_session);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	/* Own topics (the projector group reads only this run's events) and commits that settle fast (a Z
	 * report waits kafka.delivery_timeout_ms + 1 s after the close): the server inherits them. */
	rs_test_unique(topic_prefix, sizeof(topic_prefix) - 1, "shapi");
	for (char *q = topic_prefix; *q; q++)
		if (*q == '-')
			*q = '_';
	strcat(topic_prefix, ".");
	rs_test_unique(group, sizeof(group), "shapi-projector");
	setenv("REDSTORE_KAFKA_TOPIC_PREFIX", topic_prefix, 1);
	setenv("REDSTORE_KAFKA_DELIVERY_TIMEOUT_MS", "3000", 1);
	setenv("REDSTORE_KAFKA_METADATA_REFRESH_MS", "1000", 1);
	return rs_test_server_main(shifts_api_suite(), AUTH_SECRET);
}
