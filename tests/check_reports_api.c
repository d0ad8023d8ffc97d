/* What the web pages read from redstore-server, against the real program on a free port and the dev
 * stack: the report endpoints answer exactly what the library answers and only to managers, refuse bad
 * parameters with 400; the catalog listing pages through every product once and searches; the reorder
 * report (library) lists exactly the low products with hand-checked quantities; the static pages are
 * served with their content types and nothing outside the web root is. */
#include "history.h"
#include "http.h"
#include "server.h"
#include "synth.h"
#include "testutil.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define AUTH_SECRET "reports-api-test-secret-0123456789-abcdefgh"
#define HOUR_MS 3600000LL
#define DAY_MS (24 * HOUR_MS)

typedef rs_test_server server;

/* Wall-clock milliseconds (rs_test_now_ms is monotonic). */
static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Session tokens of a cashier and a manager of the client's selected store. */
typedef struct creds {
	char cashier[1024], manager[1024];
} creds;

static void sessions(redstore_client *c, creds *k)
{
	char code[REDSTORE_PAIRING_CODE_SIZE], device[REDSTORE_DEVICE_TOKEN_SIZE], terminal[REDSTORE_ID_SIZE];
	char *t;
	RS_OK(redstore_auth_employee_add(c, "cash1", "Casey", REDSTORE_ROLE_CASHIER, "1111"));
	RS_OK(redstore_auth_employee_add(c, "man1", "Morgan", REDSTORE_ROLE_MANAGER, "3333"));
	RS_OK(redstore_auth_pairing_code_new(code, c, "till 1"));
	RS_OK(redstore_auth_pair(device, terminal, c, code));
	RS_OK(redstore_auth_login(&t, c, device, "cash1", "1111"));
	snprintf(k->cashier, sizeof(k->cashier), "%s", t);
	redstore_free(t);
	RS_OK(redstore_auth_login(&t, c, device, "man1", "3333"));
	snprintf(k->manager, sizeof(k->manager), "%s", t);
	redstore_free(t);
}

/* GET path with token; returns the status and the parsed body (NULL when not JSON). */
static long get_json(const server *s, const char *token, const char *path, cJSON **out)
{
	char *body = NULL;
	CURLcode rc;
	long st = rs_http(s->port, token, "GET", path, NULL, NULL, 30000, &body, &rc);
	ck_assert_msg(rc == CURLE_OK, "GET %s: %s", path, curl_easy_strerror(rc));
	*out = body ? cJSON_Parse(body) : NULL;
	free(body);
	return st;
}

static void expect_error(const server *s, const char *token, const char *path, long status, const char *code)
{
	cJSON *r;
	long st = get_json(s, token, path, &r);
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(r, "error");
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(err, "code");
	ck_assert_msg(st == status && cJSON_IsString(c) && !strcmp(c->valuestring, code), "GET %s: %ld %s (expected %ld %s)",
	              path, st, cJSON_IsString(c) ? c->valuestring : "?", status, code);
	cJSON_Delete(r);
}

/* The server's rows equal the library's report, field by field, in order. */
static void same_report(const cJSON *body, const redstore_sales_report *lib, const char *what)
{
	const cJSON *rows = cJSON_GetObjectItemCaseSensitive(body, "rows"), *r;
	size_t i = 0;
	ck_assert_msg(cJSON_IsArray(rows), "%s: no rows", what);
	ck_assert_msg((size_t)cJSON_GetArraySize(rows) == lib->count, "%s: %d rows from the server, %zu from the library",
	              what, cJSON_GetArraySize(rows), lib->count);
	cJSON_ArrayForEach(r, rows) {
		const redstore_sales_row *x = &lib->rows[i];
		ck_assert_msg(!strcmp(rs_json_str(r, "bucket"), x->bucket) && !strcmp(rs_json_str(r, "key"), x->key),
		              "%s row %zu: %s/%s vs %s/%s", what, i, rs_json_str(r, "bucket"), rs_json_str(r, "key"), x->bucket,
		              x->key);
		ck_assert_msg(rs_json_num(r, "units") == x->units && rs_json_num(r, "gross") == x->gross &&
		                  rs_json_num(r, "discount") == x->discount && rs_json_num(r, "tax") == x->tax &&
		                  rs_json_num(r, "total") == x->total &&
		                  rs_json_num(r, "refunded_units") == x->refunded_units && rs_json_num(r, "refunds") == x->refunds &&
		                  rs_json_num(r, "lines") == x->lines,
		              "%s row %zu (%s %s): sums differ", what, i, x->bucket, x->key);
		i++;
	}
	ck_assert_int_eq(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body, "from_rollups")), lib->from_rollups);
}

/* `n` synthetic sales (and every tenth a refund) over the `days` days before end_ms, projected. */
static int64_t project_history(redstore_client *c, const char *store, int n, int days, int64_t end_ms, unsigned seed)
{
	char **json = calloc((size_t)n, sizeof(*json));
	int64_t total = 0;
	ck_assert_ptr_nonnull(json);
	for (int i = 0; i < n; i++) {
		int64_t when = end_ms - 60000 - (int64_t)(rand_r(&seed) % (unsigned)(days * 24 * 60)) * 60000;
		json[i] = i % 10 == 9 ? rs_synth_refund_event(c, store, i, when, NULL)
		                      : rs_synth_sale_event(c, store, i, when, &total);
	}
	rs_history_project(c, json, n);
	return total;
}

static void product(redstore_client *c, const char *sku, const char *name, const char *brand, const char *barcode,
                    int64_t threshold, int64_t stock, int active)
{
	redstore_product p;
	memset(&p, 0, sizeof(p));
	p.sku = sku;
	p.name = name;
	p.brand = brand;
	p.barcode = barcode;
	p.price = 100;
	p.tax_class = "standard";
	p.low_stock_threshold = threshold;
	p.active = 1;
	RS_OK(redstore_product_create(c, &p));
	if (stock > 0) {
		redstore_stock_line line = { sku, stock, 10 };
		redstore_stock_result *r;
		RS_OK(redstore_stock_receive(&r, c, NULL, "test", 1, &line));
		redstore_stock_result_free(r);
	}
	if (!active)
		RS_OK(redstore_product_deactivate(c, sku));
}

/* ------------------------------------------------------------ tests */

START_TEST(reports_api_answers_what_the_library_answers_to_managers_only)
{
	server s;
	creds k;
	redstore_client *c = rs_test_client();
	char store[65], path[512];
	int64_t now = wall_ms(), to = (now / HOUR_MS + 1) * HOUR_MS, from = to - 3 * DAY_MS;
	static const char *const buckets[] = { "hour", "15min", "day" };
	static const redstore_bucket lib_buckets[] = { REDSTORE_BUCKET_HOUR, REDSTORE_BUCKET_15MIN, REDSTORE_BUCKET_DAY };
	rs_test_store(c, "rapi", store, 0);
	project_history(c, store, 120, 2, now, 7);
	sessions(c, &k);
	rs_test_server_start(&s, NULL);

	/* sales by bucket, whole hours (rollups) and an odd range (raw lines), grouped and not */
	for (int b = 0; b < 3; b++)
		for (int odd = 0; odd < 2; odd++)
			for (int g = 0; g < 2; g++) {
				redstore_report_options o = { lib_buckets[b], g ? REDSTORE_GROUP_PRODUCT : REDSTORE_GROUP_NONE, 0 };
				redstore_sales_report *lib;
				int64_t f = from + odd * 17 * 60000;
				cJSON *body;
				snprintf(path, sizeof(path), "/v1/stores/%s/reports/sales?from=%lld&to=%lld&bucket=%s%s", store,
				         (long long)f, (long long)to, buckets[b], g ? "&group_by=product" : "");
				ck_assert_int_eq(get_json(&s, k.manager, path, &body), 200);
				RS_OK(redstore_report_sales(&lib, c, f, to, &o));
				ck_assert_uint_gt(lib->count, 0);
				same_report(body, lib, path);
				redstore_sales_report_free(lib);
				cJSON_Delete(body);
			}
	/* top and bottom products by units and revenue */
	for (int by = 0; by < 2; by++)
		for (int bottom = 0; bottom < 2; bottom++) {
			redstore_sales_report *lib;
			cJSON *body;
			snprintf(path, sizeof(path), "/v1/stores/%s/reports/top-products?from=%lld&to=%lld&by=%s&order=%s&n=7",
			         store, (long long)from, (long long)to, by ? "revenue" : "units", bottom ? "bottom" : "top");
			ck_assert_int_eq(get_json(&s, k.manager, path, &body), 200);
			RS_OK(redstore_report_top_products(&lib, c, from, to, by ? REDSTORE_RANK_REVENUE : REDSTORE_RANK_UNITS,
			                                   bottom, 7));
			ck_assert_uint_eq(lib->count, 7);
			same_report(body, lib, path);
			redstore_sales_report_free(lib);
			cJSON_Delete(body);
		}

	/* a cashier, no session, another store's manager: refused before anything is read */
	snprintf(path, sizeof(path), "/v1/stores/%s/reports/sales?from=%lld&to=%lld", store, (long long)from,
	         (long long)to);
	expect_error(&s, k.cashier, path, 403, "forbidden");
	expect_error(&s, NULL, path, 401, "unauthenticated");
	snprintf(path, sizeof(path), "/v1/stores/%s/reports/top-products?from=%lld&to=%lld", store, (long long)from,
	         (long long)to);
	expect_error(&s, k.cashier, path, 403, "forbidden");
	snprintf(path, sizeof(path), "/v1/stores/%s/reports/reorder", store);
	expect_error(&s, k.cashier, path, 403, "forbidden");
	expect_error(&s, NULL, path, 401, "unauthenticated");
	{
		redstore_client *o = rs_test_client();
		char other[65];
		creds ko;
		rs_test_store(o, "rapi2", other, 0);
		sessions(o, &ko);
		expect_error(&s, ko.manager, path, 403, "forbidden");
		redstore_client_free(o);
	}
	rs_test_server_stop(&s);
	redstore_client_free(c);
}
END_TEST

/* The transactions, patterns and stock-value endpoints, sales by tender and the day= ranges answer what
 * the library answers, to managers only. */
START_TEST(reports_api_transactions_patterns_stock_value_tender_and_store_days)
{
	server s;
	creds k;
	redstore_client *c = rs_test_client();
	redstore_store_info info = { NULL, "Kiritimati", "EUR", "Pacific/Kiritimati", 1 };
	char store[65], path[512], day[11];
	int64_t now = wall_ms(), to = now + 1, from = to - 3 * DAY_MS, dfrom, dto;
	redstore_transactions_report *tr;
	redstore_stock_value_report *sv;
	redstore_pattern_report *pr = calloc(1, sizeof(*pr));
	redstore_sales_report *lib;
	const cJSON *rows, *x;
	cJSON *body;
	size_t i;

	ck_assert_ptr_nonnull(pr);
	/* UTC+14: its "today" is not the UTC one for ten hours of every day. */
	rs_test_unique(store, sizeof(store), "rkir");
	info.store_id = store;
	RS_OK(redstore_store_create(c, &info));
	RS_OK(redstore_client_use_store(c, store));
	RS_OK(redstore_store_set_tax_class(c, "standard", 200000));
	product(c, "SKU-00000", "First", "Acme", NULL, 0, 40, 1);
	product(c, "SKU-00007", "Second", "Bean", NULL, 0, 15, 1);
	project_history(c, store, 90, 2, now, 11);
	sessions(c, &k);
	rs_test_server_start(&s, NULL);

	/* transactions */
	snprintf(path, sizeof(path), "/v1/stores/%s/reports/transactions?from=%lld&to=%lld", store, (long long)from,
	         (long long)to);
	ck_assert_int_eq(get_json(&s, k.manager, path, &body), 200);
	RS_OK(redstore_report_transactions(&tr, c, from, to));
	ck_assert_uint_gt(tr->count, 0);
	rows = cJSON_GetObjectItemCaseSensitive(body, "rows");
	ck_assert_int_eq(cJSON_GetArraySize(rows), (int)tr->count);
	i = 0;
	cJSON_ArrayForEach(x, rows) {
		ck_assert_str_eq(rs_json_str(x, "day"), tr->rows[i].day);
		ck_assert_int_eq(rs_json_num(x, "count"), tr->rows[i].count);
		ck_assert_int_eq(rs_json_num(x, "total"), tr->rows[i].total);
		ck_assert_int_eq(rs_json_num(x, "average"), tr->rows[i].average);
		ck_assert_int_eq(rs_json_num(x, "median"), tr->rows[i].median);
		i++;
	}
	redstore_transactions_report_free(tr);
	cJSON_Delete(body);

	/* patterns */
	snprintf(path, sizeof(path), "/v1/stores/%s/reports/patterns?from=%lld&to=%lld", store, (long long)from,
	         (long long)to);
	ck_assert_int_eq(get_json(&s, k.manager, path, &body), 200);
	RS_OK(redstore_report_patterns(pr, c, from, to));
	{
		const cJSON *cells = cJSON_GetObjectItemCaseSensitive(body, "cells");
		const cJSON *days = cJSON_GetObjectItemCaseSensitive(body, "days");
		int64_t seen = 0;
		ck_assert_int_eq(cJSON_GetArraySize(cells), 7);
		ck_assert_int_eq(cJSON_GetArraySize(days), 7);
		for (int w = 0; w < 7; w++) {
			const cJSON *hours = cJSON_GetArrayItem(cells, w);
			ck_assert_int_eq((int64_t)cJSON_GetArrayItem(days, w)->valuedouble, pr->days[w]);
			ck_assert_int_eq(cJSON_GetArraySize(hours), 24);
			for (int h = 0; h < 24; h++) {
				const cJSON *cell = cJSON_GetArrayItem(hours, h);
				ck_assert_int_eq(rs_json_num(cell, "transactions"), pr->cells[w][h].transactions);
				ck_assert_int_eq(rs_json_num(cell, "total"), pr->cells[w][h].total);
				seen += pr->cells[w][h].transactions;
			}
		}
		ck_assert_int_gt(seen, 0);
	}
	cJSON_Delete(body);

	/* stock value at a moment, and now by default */
	snprintf(path, sizeof(path), "/v1/stores/%s/reports/stock-value?at=%lld&window_days=2", store, (long long)now);
	ck_assert_int_eq(get_json(&s, k.manager, path, &body), 200);
	RS_OK(redstore_report_stock_value(&sv, c, now, 2));
	ck_assert_uint_eq(sv->count, 2);
	ck_assert_int_eq(rs_json_num(body, "worth"), sv->worth);
	ck_assert_int_eq(rs_json_num(body, "at"), now);
	rows = cJSON_GetObjectItemCaseSensitive(body, "rows");
	ck_assert_int_eq(cJSON_GetArraySize(rows), 2);
	i = 0;
	cJSON_ArrayForEach(x, rows) {
		const redstore_stock_value_row *y = &sv->rows[i++];
		ck_assert_str_eq(rs_json_str(x, "sku"), y->sku);
		ck_assert_str_eq(rs_json_str(x, "name"), y->name);
		ck_assert_int_eq(rs_json_num(x, "on_hand"), y->on_hand);
		ck_assert_int_eq(rs_json_num(x, "price"), y->price);
		ck_assert_int_eq(rs_json_num(x, "worth"), y->worth);
		ck_assert_int_eq(rs_json_num(x, "sold"), y->sold);
		ck_assert_int_eq(rs_json_num(x, "cover_days"), y->cover_days);
	}
	redstore_stock_value_report_free(sv);
	cJSON_Delete(body);
	snprintf(path, sizeof(path), "/v1/stores/%s/reports/stock-value", store);
	ck_assert_int_eq(get_json(&s, k.manager, path, &body), 200);
	ck_assert_int_eq(rs_json_num(body, "window_days"), 30);
	ck_assert_int_ge(rs_json_num(body, "at"), now);
	cJSON_Delete(body);

	/* sales by tender */
	snprintf(path, sizeof(path), "/v1/stores/%s/reports/sales?from=%lld&to=%lld&bucket=day&group_by=tender", store,
	         (long long)from, (long long)to);
	ck_assert_int_eq(get_json(&s, k.manager, path, &body), 200);
	{
		redstore_report_options o = { REDSTORE_BUCKET_DAY, REDSTORE_GROUP_TENDER, 0 };
		RS_OK(redstore_report_sales(&lib, c, from, to, &o));
	}
	ck_assert_uint_gt(lib->count, 0);
	ck_assert_str_eq(lib->rows[0].key, "card"); /* the synthetic sales are paid by card */
	same_report(body, lib, path);
	redstore_sales_report_free(lib);
	cJSON_Delete(body);

	/* day=today is the store's local day (UTC+14), whatever this process's zone */
	RS_OK(redstore_store_day_range(&dfrom, &dto, c, NULL, day));
	snprintf(path, sizeof(path), "/v1/stores/%s/reports/sales?day=today&bucket=all", store);
	ck_assert_int_eq(get_json(&s, k.manager, path, &body), 200);
	ck_assert_int_eq(rs_json_num(body, "from"), dfrom);
	ck_assert_int_eq(rs_json_num(body, "to"), dto);
	ck_assert_str_eq(rs_json_str(body, "day"), day);
	ck_assert_int_eq((dfrom / 1000) % 86400, 10 * 3600); /* local midnight is 10:00 UTC */
	{
		redstore_report_options o = { REDSTORE_BUCKET_ALL, REDSTORE_GROUP_NONE, 0 };
		RS_OK(redstore_report_sales(&lib, c, dfrom, dto, &o));
		same_report(body, lib, path);
		redstore_sales_report_free(lib);
	}
	cJSON_Delete(body);
	snprintf(path, sizeof(path), "/v1/stores/%s/reports/transactions?day=2026-12-01", store);
	ck_assert_int_eq(get_json(&s, k.manager, path, &body), 200);
	ck_assert_int_eq(rs_json_num(body, "from"), 1796032800000LL); /* 2026-11-30 10:00 UTC */
	ck_assert_int_eq(rs_json_num(body, "to"), 1796032800000LL + DAY_MS);
	ck_assert_str_eq(rs_json_str(body, "day"), "2026-12-01");
	cJSON_Delete(body);

	/* managers only */
	snprintf(path, sizeof(path), "/v1/stores/%s/reports/transactions?day=today", store);
	expect_error(&s, k.cashier, path, 403, "forbidden");
	expect_error(&s, NULL, path, 401, "unauthenticated");
	snprintf(path, sizeof(path), "/v1/stores/%s/reports/patterns?day=today", store);
	expect_error(&s, k.cashier, path, 403, "forbidden");
	expect_error(&s, NULL, path, 401, "unauthenticated");
	snprintf(path, sizeof(path), "/v1/stores/%s/reports/stock-value", store);
	expect_error(&s, k.cashier, path, 403, "forbidden");
	expect_error(&s, NULL, path, 401, "unauthenticated");
	rs_test_server_stop(&s);
	free(pr);
	redstore_client_free(c);
}
END_TEST

START_TEST(reports_api_refuses_bad_parameters_with_400)
{
	server s;
	creds k;
	redstore_client *c = rs_test_client();
	char store[65], path[600], big[400];
	static const char *const bad[] = {
		"reports/sales",                                     /* from and to are required */
		"reports/sales?from=1000",
		"reports/sales?from=5000&to=1000",                   /* reversed */
		"reports/sales?from=1000&to=1000",                   /* empty */
		"reports/sales?from=abc&to=1000",
		"reports/sales?from=1000&to=99999999999999999999",   /* out of range */
		"reports/sales?from=-5&to=1000",
		"reports/sales?from=1000&to=2000&bucket=year",
		"reports/sales?from=1000&to=2000&group_by=color",
		"reports/sales?from=1000&to=2000&colour=red",         /* unknown parameter */
		"reports/sales?from=0&to=200000000000",               /* over 3 years: the library's EINVALID */
		"reports/top-products?from=1000&to=2000&n=0",
		"reports/top-products?from=1000&to=2000&n=1001",
		"reports/top-products?from=1000&to=2000&by=price",
		"reports/top-products?from=1000&to=2000&order=middle",
		"reports/reorder?window_days=0",
		"reports/reorder?window_days=367",
		"reports/reorder?limit=5000",
		"products?limit=0",
		"products?limit=201",
		"products?limit=ten",
		"products?cursor=garbage",
		"products?favourites=yes",
		"products?page=2",
		"reports/transactions",                              /* a range or a day is required */
		"reports/transactions?from=5000&to=1000",
		"reports/transactions?day=2026-02-30",               /* the library: not a date */
		"reports/transactions?day=tomorrow",
		"reports/transactions?day=today&from=1000",          /* one or the other */
		"reports/patterns?from=1000",
		"reports/patterns?day=2026-13-01",
		"reports/patterns?from=0&to=200000000000",
		"reports/sales?day=26-12-01",
		"reports/top-products?day=today&to=2000",
		"reports/stock-value?window_days=0",
		"reports/stock-value?window_days=367",
		"reports/stock-value?at=-1",
		"reports/stock-value?at=soon",
		"reports/stock-value?from=1000",
	};
	rs_test_store(c, "rbad", store, 0);
	sessions(c, &k);
	rs_test_server_start(&s, NULL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), "/v1/stores/%s/%s", store, bad[i]);
		expect_error(&s, k.manager, path, 400, "invalid_parameter");
	}
	/* the message names the parameter */
	{
		static const char *const named[][2] = {
			{ "reports/transactions?day=2026-02-30", "day" },      { "reports/patterns?from=1000", "to" },
			{ "reports/stock-value?window_days=0", "window_days" }, { "reports/stock-value?at=soon", "at" },
			{ "reports/sales?day=today&to=5", "day" },             { "reports/sales?group_by=cash&day=today", "group_by" },
		};
		for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
			cJSON *r;
			const cJSON *m;
			snprintf(path, sizeof(path), "/v1/stores/%s/%s", store, named[i][0]);
			ck_assert_int_eq(get_json(&s, k.manager, path, &r), 400);
			m = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "error"), "message");
			ck_assert_msg(cJSON_IsString(m) && strstr(m->valuestring, named[i][1]), "%s: \"%s\" does not name %s",
			              named[i][0], cJSON_IsString(m) ? m->valuestring : "?", named[i][1]);
			cJSON_Delete(r);
		}
	}
	/* a search longer than 100 bytes, and an oversized parameter */
	memset(big, 'a', 101);
	big[101] = '\0';
	snprintf(path, sizeof(path), "/v1/stores/%s/products?q=%s", store, big);
	expect_error(&s, k.cashier, path, 400, "invalid_parameter");
	memset(big, '7', 300);
	big[300] = '\0';
	snprintf(path, sizeof(path), "/v1/stores/%s/reports/sales?from=%s&to=1", store, big);
	expect_error(&s, k.manager, path, 400, "invalid_parameter");
	rs_test_server_stop(&s);
	redstore_client_free(c);
}
END_TEST

START_TEST(products_api_pages_through_every_product_once_and_searches)
{
	server s;
	creds k;
	redstore_client *c = rs_test_client();
	char store[65], path[600], cursor[256] = "", prev[65] = "";
	int seen = 0, pages = 0;
	cJSON *body;
	rs_test_store(c, "rprod", store, 0);
	for (int i = 0; i < 23; i++) {
		char sku[16], name[32], barcode[16];
		snprintf(sku, sizeof(sku), "P-%03d", i);
		snprintf(name, sizeof(name), i % 5 == 0 ? "Dark Chocolate %d" : "Item %d", i);
		snprintf(barcode, sizeof(barcode), "400%05d", i);
		product(c, sku, name, i % 7 == 0 ? "Acme" : "", barcode, 0, 0, i != 22);
	}
	product(c, "PCT-100%", "100% juice", "", "", 0, 0, 1);
	sessions(c, &k);
	rs_test_server_start(&s, NULL);

	/* every active product once, in SKU order, 10 at a time */
	do {
		const cJSON *items, *p, *next;
		snprintf(path, sizeof(path), "/v1/stores/%s/products?limit=10%s%s", store, cursor[0] ? "&cursor=" : "", cursor);
		ck_assert_int_eq(get_json(&s, k.cashier, path, &body), 200);
		items = cJSON_GetObjectItemCaseSensitive(body, "products");
		ck_assert_int_le(cJSON_GetArraySize(items), 10);
		cJSON_ArrayForEach(p, items) {
			ck_assert_msg(strcmp(rs_json_str(p, "sku"), prev) > 0, "%s after %s", rs_json_str(p, "sku"), prev);
			snprintf(prev, sizeof(prev), "%s", rs_json_str(p, "sku"));
			ck_assert_str_ne(prev, "P-022"); /* deactivated */
			seen++;
		}
		next = cJSON_GetObjectItemCaseSensitive(body, "next_cursor");
		cursor[0] = '\0';
		if (cJSON_IsString(next))
			snprintf(cursor, sizeof(cursor), "%s", next->valuestring);
		else
			ck_assert(cJSON_IsNull(next));
		cJSON_Delete(body);
		pages++;
	} while (cursor[0]);
	ck_assert_int_eq(seen, 23); /* 22 active P- products and PCT-100% */
	ck_assert_int_eq(pages, 3);

	/* search: name (any case), brand, exact barcode; wildcards are plain characters */
	{
		static const struct {
			const char *q;
			int count;
			const char *first;
		} cases[] = {
			{ "chocolate", 5, "P-000" }, { "DARK%20CHOC", 5, "P-000" }, { "acme", 4, "P-000" },
			{ "40000017", 1, "P-017" },  { "100%25", 1, "PCT-100%" },   { "%25", 1, "PCT-100%" },
			{ "_", 0, NULL },            { "nothing-like-this", 0, NULL },
		};
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			const cJSON *items;
			snprintf(path, sizeof(path), "/v1/stores/%s/products?q=%s", store, cases[i].q);
			ck_assert_int_eq(get_json(&s, k.cashier, path, &body), 200);
			items = cJSON_GetObjectItemCaseSensitive(body, "products");
			ck_assert_msg(cJSON_GetArraySize(items) == cases[i].count, "q=%s: %d products (expected %d)", cases[i].q,
			              cJSON_GetArraySize(items), cases[i].count);
			if (cases[i].first)
				ck_assert_str_eq(rs_json_str(cJSON_GetArrayItem(items, 0), "sku"), cases[i].first);
			cJSON_Delete(body);
		}
	}
	/* the library call: no query lists what redstore_product_list lists; a control character is refused */
	{
		redstore_product_page *a, *b;
		RS_OK(redstore_product_search(&a, c, NULL, NULL, 100, 0));
		RS_OK(redstore_product_list(&b, c, NULL, 100, 0));
		ck_assert_uint_eq(a->count, 23);
		ck_assert_uint_eq(a->count, b->count);
		for (size_t i = 0; i < a->count; i++)
			ck_assert_str_eq(a->items[i]->sku, b->items[i]->sku);
		redstore_product_page_free(a);
		redstore_product_page_free(b);
		ck_assert_int_eq(redstore_product_search(&a, c, "bad\x01", NULL, 10, 0), REDSTORE_EINVALID);
		ck_assert_ptr_null(a);
		RS_OK(redstore_product_search(&a, c, "CHOC", NULL, 2, REDSTORE_LIST_FAVOURITES_ONLY));
		ck_assert_uint_eq(a->count, 0);
		redstore_product_page_free(a);
	}
	/* the listing is the store's own: another store's session is refused */
	{
		redstore_client *o = rs_test_client();
		char other[65];
		creds ko;
		rs_test_store(o, "rprod2", other, 0);
		sessions(o, &ko);
		snprintf(path, sizeof(path), "/v1/stores/%s/products", store);
		expect_error(&s, ko.cashier, path, 403, "forbidden");
		expect_error(&s, NULL, path, 401, "unauthenticated");
		redstore_client_free(o);
	}
	rs_test_server_stop(&s);
	redstore_client_free(c);
}
END_TEST

/* The reorder report by hand: stock, thresholds and the units sold within the window decide. */
START_TEST(reorder_report_lists_low_products_with_suggested_quantities)
{
	server s;
	creds k;
	redstore_client *c = rs_test_client();
	redstore_reorder_report *r;
	char store[65], path[256];
	int64_t now = wall_ms();
	cJSON *body;
	const cJSON *rows, *row;
	size_t i = 0;
	rs_test_store(c, "rreo", store, 0);
	/* synthetic sale 0 sells 1 x SKU-00000, 2 x SKU-00131 and 3 x SKU-00262 */
	product(c, "SKU-00000", "Low, sold 1", "", "", 5, 2, 1);    /* 2 <= 5: 5 + 5 - 2 = 8 */
	product(c, "SKU-00131", "Plenty", "", "", 3, 10, 1);        /* 10 > 3: not listed */
	product(c, "SKU-00262", "At threshold", "", "", 2, 2, 1);   /* 2 <= 2, sold 3: 3 + 2 - 2 = 3 */
	product(c, "OFF-1", "Deactivated", "", "", 5, 0, 0);        /* inactive: not listed */
	product(c, "NEVER", "No threshold", "", "", 0, 0, 1);       /* threshold 0: never */
	product(c, "EMPTY", "Never received", "", "", 1, 0, 1);     /* 0 <= 1: 1 + 1 - 0 = 2 */
	{
		redstore_event *ev[2];
		size_t applied;
		for (int j = 0; j < 2; j++) { /* one sale 2 days ago, the same lines 20 days ago (outside 14 days) */
			char *json = rs_synth_sale_event(c, store, 0, now - (j ? 20 : 2) * DAY_MS, NULL);
			RS_OK(redstore_event_decode(&ev[j], json, strlen(json)));
			free(json);
		}
		RS_OK(redstore_projector_apply(c, (const redstore_event *const *)ev, 2, &applied));
		redstore_event_free(ev[0]);
		redstore_event_free(ev[1]);
	}
	RS_OK(redstore_report_reorder(&r, c, now, 14, 100));
	ck_assert_uint_eq(r->count, 3);
	/* furthest below the threshold first: SKU-00000 (-3), EMPTY (-1), SKU-00262 (0) */
	ck_assert_str_eq(r->rows[0].sku, "SKU-00000");
	ck_assert_int_eq(r->rows[0].available, 2);
	ck_assert_int_eq(r->rows[0].sold, 1);
	ck_assert_int_eq(r->rows[0].suggested, 8);
	ck_assert_str_eq(r->rows[1].sku, "EMPTY");
	ck_assert_int_eq(r->rows[1].suggested, 2);
	ck_assert_str_eq(r->rows[2].sku, "SKU-00262");
	ck_assert_int_eq(r->rows[2].sold, 3);
	ck_assert_int_eq(r->rows[2].suggested, 3);
	ck_assert_str_eq(r->rows[2].name, "At threshold");

	/* the server's answer is the library's */
	sessions(c, &k);
	rs_test_server_start(&s, NULL);
	snprintf(path, sizeof(path), "/v1/stores/%s/reports/reorder?window_days=14", store);
	ck_assert_int_eq(get_json(&s, k.manager, path, &body), 200);
	rows = cJSON_GetObjectItemCaseSensitive(body, "rows");
	ck_assert_int_eq(cJSON_GetArraySize(rows), 3);
	cJSON_ArrayForEach(row, rows) {
		ck_assert_str_eq(rs_json_str(row, "sku"), r->rows[i].sku);
		ck_assert_int_eq(rs_json_num(row, "available"), r->rows[i].available);
		ck_assert_int_eq(rs_json_num(row, "on_hand"), r->rows[i].on_hand);
		ck_assert_int_eq(rs_json_num(row, "threshold"), r->rows[i].threshold);
		ck_assert_int_eq(rs_json_num(row, "sold"), r->rows[i].sold);
		ck_assert_int_eq(rs_json_num(row, "suggested"), r->rows[i].suggested);
		i++;
	}
	cJSON_Delete(body);
	redstore_reorder_report_free(r);
	/* a window of 30 days counts the older sale too; limit cuts the list */
	RS_OK(redstore_report_reorder(&r, c, now, 30, 1));
	ck_assert_uint_eq(r->count, 1);
	ck_assert_int_eq(r->rows[0].sold, 2);
	ck_assert_int_eq(r->rows[0].suggested, 8);
	redstore_reorder_report_free(r);
	ck_assert_int_eq(redstore_report_reorder(&r, c, now, 0, 10), REDSTORE_EINVALID);
	ck_assert_ptr_null(r);
	ck_assert_int_eq(redstore_report_reorder(&r, c, now, 14, 0), REDSTORE_EINVALID);
	rs_test_server_stop(&s);
	redstore_client_free(c);
}
END_TEST

/* ------------------------------------------------------------ static pages */

typedef struct page {
	long status;
	char type[600], location[600], csp[600];
	size_t size;
} page;

static size_t header_cb(char *data, size_t size, size_t nmemb, void *userdata)
{
	page *p = userdata;
	size_t n = size * nmemb;
	char line[600];
	snprintf(line, sizeof(line), "%.*s", (int)(n < sizeof(line) - 1 ? n : sizeof(line) - 1), data);
	line[strcspn(line, "\r\n")] = '\0';
	if (!strncasecmp(line, "Content-Type: ", 14))
		snprintf(p->type, sizeof(p->type), "%s", line + 14);
	else if (!strncasecmp(line, "Location: ", 10))
		snprintf(p->location, sizeof(p->location), "%s", line + 10);
	else if (!strncasecmp(line, "Content-Security-Policy: ", 25))
		snprintf(p->csp, sizeof(p->csp), "%s", line + 25);
	return n;
}

/* The raw path is sent as it is (no "..", "%2e" folding by libcurl). */
static page fetch(const server *s, const char *method, const char *raw)
{
	CURL *h = curl_easy_init();
	rs_http_buf b = { NULL, 0 };
	char url[512];
	page p;
	memset(&p, 0, sizeof(p));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", s->port, raw);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (!strcmp(method, "HEAD"))
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, rs_http_buf_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &p);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
	ck_assert_int_eq(curl_easy_perform(h), CURLE_OK);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &p.status);
	p.size = b.n;
	free(b.p);
	curl_easy_cleanup(h);
	return p;
}

static void write_file(const char *path, const char *text, size_t n)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, n, f), n);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(web_pages_are_served_with_their_types_and_nothing_outside_the_root)
{
	server s;
	char root[64] = "/tmp/rs-webroot-XXXXXX", outside[128], sub[128], f[192];
	const char *extra[] = { "--web-root", root, NULL };
	char *big = calloc(1, 1024 * 1024 + 2);
	page p;
	ck_assert_ptr_nonnull(mkdtemp(root));
	ck_assert_ptr_nonnull(big);
	snprintf(sub, sizeof(sub), "%s/terminal", root);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	snprintf(f, sizeof(f), "%s/index.html", sub);
	write_file(f, "<!doctype html><title>t</title>", 31);
	snprintf(f, sizeof(f), "%s/app.js", sub);
	write_file(f, "export {};\n", 11);
	snprintf(f, sizeof(f), "%s/app.css", sub);
	write_file(f, "body{}\n", 7);
	snprintf(f, sizeof(f), "%s/.secret.txt", sub);
	write_file(f, "hidden", 6);
	snprintf(f, sizeof(f), "%s/notes.md", sub);
	write_file(f, "unknown type", 12);
	memset(big, 'x', 1024 * 1024 + 1);
	snprintf(f, sizeof(f), "%s/big.txt", sub);
	write_file(f, big, 1024 * 1024 + 1);
	free(big);
	/* a file outside the root and a symbolic link to it inside */
	snprintf(outside, sizeof(outside), "%s-outside.txt", root);
	write_file(outside, "outside", 7);
	snprintf(f, sizeof(f), "%s/link.txt", sub);
	ck_assert_int_eq(symlink(outside, f), 0);

	rs_test_server_start(&s, extra);
	p = fetch(&s, "GET", "/terminal/");
	ck_assert_int_eq(p.status, 200);
	ck_assert_str_eq(p.type, "text/html; charset=utf-8");
	ck_assert_uint_eq(p.size, 31);
	ck_assert_ptr_nonnull(strstr(p.csp, "default-src 'self'"));
	p = fetch(&s, "HEAD", "/terminal/index.html");
	ck_assert_int_eq(p.status, 200);
	p = fetch(&s, "GET", "/terminal/app.js");
	ck_assert_int_eq(p.status, 200);
	ck_assert_str_eq(p.type, "text/javascript; charset=utf-8");
	p = fetch(&s, "GET", "/terminal/app.css");
	ck_assert_str_eq(p.type, "text/css; charset=utf-8");
	p = fetch(&s, "GET", "/terminal");
	ck_assert_int_eq(p.status, 301);
	ck_assert_str_eq(p.location, "/terminal/");
	{
		static const char *const refused[] = {
			"/terminal/../../../../etc/passwd", "/terminal/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
			"/..%2f..%2fetc%2fpasswd",         "/terminal/.secret.txt",
			"/terminal/link.txt",               "/terminal/notes.md",
			"/terminal/missing.js",             "/terminal//app.js",
			"/terminal/app.js/",
		};
		for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
			p = fetch(&s, "GET", refused[i]);
			ck_assert_msg(p.status == 404, "%s: %ld (expected 404)", refused[i], p.status);
		}
	}
	p = fetch(&s, "GET", "/terminal/big.txt");
	ck_assert_msg(p.status >= 400, "a file over the size limit is served (%ld)", p.status);
	p = fetch(&s, "POST", "/terminal/index.html");
	ck_assert_int_eq(p.status, 404);
	/* the API is untouched by the pages */
	p = fetch(&s, "GET", "/v1/nothing");
	ck_assert_int_eq(p.status, 404);
	ck_assert_str_eq(p.type, "application/json");
	rs_test_server_stop(&s);

	unlink(f);
	unlink(outside);
	{
		static const char *const names[] = { "index.html", "app.js", "app.css", ".secret.txt", "notes.md", "big.txt" };
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			snprintf(f, sizeof(f), "%s/%s", sub, names[i]);
			unlink(f);
		}
	}
	rmdir(sub);
	rmdir(root);
}
END_TEST

static Suite *reports_api_suite(void)
{
	Suite *s = suite_create("reports_api");
	TCase *t = tcase_create("reports_api");
	tcase_set_timeout(t, 300);
	tcase_add_test(t, reports_api_answers_what_the_library_answers_to_managers_only);
	tcase_add_test(t, reports_api_transactions_patterns_stock_value_tender_and_store_days);
	tcase_add_test(t, reports_api_refuses_bad_parameters_with_400);
	tcase_add_test(t, products_api_pages_through_every_product_once_and_searches);
	tcase_add_test(t, reorder_report_lists_low_products_with_suggested_quantities);
	tcase_add_test(t, web_pages_are_served_with_their_types_and_nothing_outside_the_root);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return rs_test_server_main(reports_api_suite(), AUTH_SECRET);
}
